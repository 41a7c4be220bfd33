#ifndef PLENUM_LUA_H
#define PLENUM_LUA_H

/*
 * The C side of PlenumLua, compiled as C (plenum_lua.c, plenum_patterns.c) on top of the
 * system Lua 5.4 (CLua).
 *
 * Lua raises errors with longjmp. Swift frames must never be crossed by one, so:
 * - Swift only calls Lua functions that cannot raise (reading arguments, checking the stack),
 *   or the protected entry points below, which run their work under lua_pcall and return a
 *   status;
 * - a Swift host function describes its results (or its error) in a plenum_host_result; the
 *   trampoline, in C and after Swift has returned, builds them into Lua values and raises;
 * - the counting allocator, the instruction hook and the pattern functions raise from C only.
 */

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stddef.h>

/* ---- macro wrappers Swift cannot import -------------------------------------------- */

static inline void plenum_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline int plenum_isinteger(lua_State *L, int i) { return lua_isinteger(L, i); }
static inline lua_Integer plenum_tointeger(lua_State *L, int i) { return lua_tointegerx(L, i, NULL); }
static inline lua_Number plenum_tonumber(lua_State *L, int i) { return lua_tonumberx(L, i, NULL); }
static inline int plenum_isnoneornil(lua_State *L, int i) { return lua_isnoneornil(L, i); }

/* ---- limits: memory cap, CPU guard, stop request, activity ------------------------- */

#define PLENUM_SOURCE_MAX 64

/*
 * One per state. The first group belongs to the state's thread; the second is shared with
 * other threads and accessed only with atomic builtins, through the functions below.
 */
typedef struct plenum_limits {
    size_t used;          /* bytes currently allocated by this state */
    size_t peak;          /* highest `used` seen */
    size_t cap;           /* 0 = unlimited */
    int reporting;        /* >0 while an error report is built: the cap is not applied */
    int memory_tripped;   /* an allocation was refused by the cap during this run */
    int memory_error;     /* a host function's result did not fit under the cap */
    int guard_tripped;    /* the CPU guard fired */
    int killing;          /* once set, every hook call raises (pcall cannot swallow it) */
    const char *kill_message;
    long long guard_ns;   /* 0 = no CPU guard */

    int stop;                   /* set by another thread: interrupt at the next check */
    int running;                /* 1 while plenum_run runs script code */
    int blocking;               /* >0 while a blocking host function runs */
    long long slice_start_ns;   /* when the script last started running without blocking */
    unsigned position_sequence; /* seqlock over the position below (odd while written) */
    int position_line;          /* where the last hook check found the script */
    char position_source[PLENUM_SOURCE_MAX];
} plenum_limits;

/* What another thread may learn about a state. */
typedef struct plenum_activity {
    int running;
    int blocking;
    long long slice_start_ns;
    int line;                           /* 0 when unknown */
    char source[PLENUM_SOURCE_MAX];     /* "chiller.lua", empty when unknown */
} plenum_activity;

long long plenum_monotonic_ns(void);

/* A new state allocating through `limits` (zero-initialised by the caller), with the count
   hook installed. NULL when the state cannot be created. */
lua_State *plenum_newstate(plenum_limits *limits);

void plenum_set_limits(plenum_limits *limits, size_t cap, long long guard_ns);

/* Any thread. */
void plenum_request_stop(plenum_limits *limits);
int plenum_stop_requested(plenum_limits *limits);
void plenum_read_activity(plenum_limits *limits, plenum_activity *out);

/* The state's thread: around a blocking host call. Leaving restarts the CPU-guard slice. */
void plenum_enter_blocking(plenum_limits *limits);
void plenum_leave_blocking(plenum_limits *limits);

/* ---- protected entry points (each returns a Lua status; on error the message is on the
        stack as a string) ---------------------------------------------------------------- */

/* Opens base, string, table, math, utf8, coroutine, os and debug; the sandbox prelude then
   removes everything not on the allow-list. `native_patterns` = 0 replaces string.find,
   match, gmatch and gsub by versions the CPU guard and stop requests can interrupt. */
int plenum_open_libraries(lua_State *L, int native_patterns);

/* Compiles text (never bytecode) of `length` bytes; leaves the function or the message. */
int plenum_load(lua_State *L, const char *source, size_t length, const char *chunkname);

enum {
    PLENUM_ERROR_RUNTIME = 0,
    PLENUM_ERROR_MEMORY = 1,
    PLENUM_ERROR_GUARD = 2,
    PLENUM_ERROR_STOPPED = 3,
};

/* Runs the function on top of the stack (popped) in a fresh coroutine, so that after an error
   its stack can still be described. Leaves the first result, or a message
   "file:line: message\nstack traceback:…" and sets *kind. */
int plenum_run(lua_State *L, int *kind);

/* ---- values from Swift ---------------------------------------------------------------- */

/*
 * A value stream, written by Swift, read by C (same process, native byte order, unaligned):
 * a tag byte, then for INTEGER an int64, NUMBER a double, STRING a uint64 length and the bytes,
 * ARRAY a uint64 count and that many values, TABLE a uint64 count and that many
 * (STRING key, value) pairs.
 */
enum {
    PLENUM_VALUE_NIL = 0,
    PLENUM_VALUE_FALSE = 1,
    PLENUM_VALUE_TRUE = 2,
    PLENUM_VALUE_INTEGER = 3,
    PLENUM_VALUE_NUMBER = 4,
    PLENUM_VALUE_STRING = 5,
    PLENUM_VALUE_ARRAY = 6,
    PLENUM_VALUE_TABLE = 7,
};

#define PLENUM_INLINE_RESULT 256
#define PLENUM_HOST_ERROR (-1)

/* What a Swift host function hands back: `count` encoded values in data[0..<length], or
   (count == PLENUM_HOST_ERROR) the bytes of an error message. */
typedef struct plenum_host_result {
    unsigned char *data;
    size_t length;
    int count;
    int owned; /* data was malloc'd by plenum_result_reserve: the trampoline frees it */
    unsigned char inline_data[PLENUM_INLINE_RESULT];
} plenum_host_result;

/* Room for `length` bytes in `result` (its inline buffer, or malloc); NULL if malloc fails. */
unsigned char *plenum_result_reserve(plenum_host_result *result, size_t length);

typedef void (*plenum_swift_fn)(lua_State *L, void *context, plenum_host_result *result);

/* Makes `fn` callable as global `name`, or as `table.name` (the global table is created when
   missing). */
int plenum_register(lua_State *L, const char *table, const char *name, plenum_swift_fn fn, void *context);

/* Sets global `name` to the single value encoded in data[0..<length]. */
int plenum_set_global(lua_State *L, const char *name, const unsigned char *data, size_t length);

#endif
