#include "plenum_lua.h"

#include <stdlib.h>
#include <time.h>

long long plenum_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- limits ------------------------------------------------------------------------ */

static void *plenum_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    plenum_limits *limits = (plenum_limits *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        limits->used -= old;
        free(ptr);
        return NULL;
    }
    if (limits->cap && nsize > old && !limits->in_host && limits->used - old + nsize > limits->cap) {
        limits->memory_tripped = 1;
        return NULL; /* Lua raises "not enough memory" from C */
    }
    void *block = realloc(ptr, nsize);
    if (block == NULL) return NULL;
    limits->used = limits->used - old + nsize;
    if (limits->used > limits->peak) limits->peak = limits->used;
    return block;
}

static plenum_limits *plenum_limits_of(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return (plenum_limits *)ud;
}

static void plenum_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    plenum_limits *limits = plenum_limits_of(L);
    if (limits->killing) {
        luaL_error(L, "%s", limits->kill_message);
        return;
    }
    if (__atomic_load_n(&limits->stop, __ATOMIC_RELAXED)) {
        limits->killing = 1;
        limits->kill_message = "device stopping: the script did not return within its stop grace period";
        lua_sethook(L, plenum_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "%s", limits->kill_message);
        return;
    }
    if (limits->guard_ns > 0 && plenum_monotonic_ns() - limits->slice_start_ns > limits->guard_ns) {
        limits->guard_tripped = 1;
        limits->killing = 1;
        limits->kill_message = "CPU guard: the script ran too long without calling a blocking hub function "
                               "(hub.sleep, hub.wait, serial reads)";
        lua_sethook(L, plenum_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "%s", limits->kill_message);
    }
}

lua_State *plenum_newstate(plenum_limits *limits) {
    lua_State *L = lua_newstate(plenum_alloc, limits);
    if (L) lua_sethook(L, plenum_hook, LUA_MASKCOUNT, 1000);
    return L;
}

void plenum_request_stop(plenum_limits *limits) { __atomic_store_n(&limits->stop, 1, __ATOMIC_RELAXED); }

int plenum_stop_requested(plenum_limits *limits) { return __atomic_load_n(&limits->stop, __ATOMIC_RELAXED); }

void plenum_reset_slice(plenum_limits *limits) { limits->slice_start_ns = plenum_monotonic_ns(); }

/* ---- protected calls with a traceback ---------------------------------------------- */

static int plenum_msgh(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int plenum_pcall(lua_State *L, int nargs, int nresults) {
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, plenum_msgh);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return status;
}

/* ---- the standard libraries the sandbox starts from -------------------------------- */

static int plenum_open_libraries(lua_State *L) {
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string}, {LUA_TABLIBNAME, luaopen_table},
        {LUA_MATHLIBNAME, luaopen_math}, {LUA_UTF8LIBNAME, luaopen_utf8},  {LUA_COLIBNAME, luaopen_coroutine},
        {LUA_OSLIBNAME, luaopen_os},     {LUA_DBLIBNAME, luaopen_debug},   {NULL, NULL}};
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    return 0;
}

int plenum_pcall_open_libraries(lua_State *L) {
    lua_pushcfunction(L, plenum_open_libraries);
    return plenum_pcall(L, 0, 0);
}

/* ---- Swift host functions ---------------------------------------------------------- */

static int plenum_trampoline(lua_State *L) {
    plenum_swift_fn fn = (plenum_swift_fn)lua_touserdata(L, lua_upvalueindex(1));
    void *context = lua_touserdata(L, lua_upvalueindex(2));
    plenum_limits *limits = plenum_limits_of(L);
    limits->in_host++;
    int n = fn(L, context);
    limits->in_host--;
    if (n == PLENUM_HOST_ERROR) return lua_error(L);
    return n;
}

void plenum_pushhostfunction(lua_State *L, plenum_swift_fn fn, void *context) {
    lua_pushlightuserdata(L, (void *)fn);
    lua_pushlightuserdata(L, context);
    lua_pushcclosure(L, plenum_trampoline, 2);
}
