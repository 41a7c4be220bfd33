#ifndef PLENUM_LUA_H
#define PLENUM_LUA_H

/*
 * The C side of PlenumLua, compiled as C (plenum_lua.c) and linked against the system Lua.
 *
 * - static inline wrappers for Lua macros Swift cannot import;
 * - plenum_limits: a counting allocator (memory cap) and an instruction-count hook
 *   (CPU guard and stop request), both raising Lua errors from C only;
 * - a trampoline for Swift host functions: Swift returns PLENUM_HOST_ERROR with the error
 *   message on the stack and the trampoline calls lua_error, so no longjmp ever crosses a
 *   Swift frame.
 */

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stddef.h>

#define PLENUM_HOST_ERROR (-1)

/* ---- macro wrappers ---------------------------------------------------------------- */

static inline void plenum_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void plenum_newtable(lua_State *L) { lua_newtable(L); }
static inline const char *plenum_tostring(lua_State *L, int i) { return lua_tostring(L, i); }
static inline int plenum_isinteger(lua_State *L, int i) { return lua_isinteger(L, i); }
static inline lua_Integer plenum_tointeger(lua_State *L, int i) { return lua_tointegerx(L, i, NULL); }
static inline lua_Number plenum_tonumber(lua_State *L, int i) { return lua_tonumberx(L, i, NULL); }
static inline int plenum_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline int plenum_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline void plenum_pushglobaltable(lua_State *L) { lua_pushglobaltable(L); }
static inline int plenum_isnoneornil(lua_State *L, int i) { return lua_isnoneornil(L, i); }
static inline void plenum_remove(lua_State *L, int i) { lua_remove(L, i); }
static inline void plenum_insert(lua_State *L, int i) { lua_insert(L, i); }
static inline void plenum_replace(lua_State *L, int i) { lua_replace(L, i); }
static inline const char *plenum_pushstring(lua_State *L, const char *s) { return lua_pushstring(L, s); }
static inline int plenum_loadbuffer(lua_State *L, const char *buf, size_t len, const char *name) {
    return luaL_loadbufferx(L, buf, len, name, "t");
}

/* ---- limits: memory cap, CPU guard, stop request ----------------------------------- */

typedef struct plenum_limits {
    size_t used;           /* bytes currently allocated by this state */
    size_t peak;           /* highest `used` seen */
    size_t cap;            /* 0 = unlimited */
    int in_host;           /* >0 while a Swift host function runs: never fail then */
    int memory_tripped;    /* set when an allocation was refused */
    int stop;              /* set by another thread (atomically): raise "device stopping" in the hook */
    int guard_tripped;     /* set when the CPU guard fired */
    long long slice_start_ns;  /* monotonic time the current run-without-blocking began */
    long long guard_ns;        /* 0 = no CPU guard */
    int killing;           /* once set, every hook call raises (pcall cannot swallow it) */
    const char *kill_message;
} plenum_limits;

long long plenum_monotonic_ns(void);

/* A new state allocating through `limits`, with the count hook installed. */
lua_State *plenum_newstate(plenum_limits *limits);

/* May be called from any thread. */
void plenum_request_stop(plenum_limits *limits);
int plenum_stop_requested(plenum_limits *limits);

/* Called when a blocking host function returns: the script yielded, so its CPU slice restarts. */
void plenum_reset_slice(plenum_limits *limits);

/* Calls the function below `nargs` arguments under pcall with a traceback handler.
   On error the message (with traceback) is left on the stack. */
int plenum_pcall(lua_State *L, int nargs, int nresults);

/* Opens base, string, table, math, utf8, coroutine, os and debug under pcall; the Lua prelude
   then removes everything not on the allow-list. */
int plenum_pcall_open_libraries(lua_State *L);

/* ---- Swift host functions ---------------------------------------------------------- */

typedef int (*plenum_swift_fn)(lua_State *L, void *context);

void plenum_pushhostfunction(lua_State *L, plenum_swift_fn fn, void *context);

#endif
