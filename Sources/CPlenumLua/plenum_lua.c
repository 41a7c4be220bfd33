#include "plenum_internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long long plenum_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the counting allocator -------------------------------------------------------- */

/*
 * Every allocation of the state, including what host functions hand back (the trampoline
 * builds their results in C, under this cap). A refused allocation makes Lua raise "not
 * enough memory" from C. Only error reports (a bounded message and traceback) may pass the
 * cap, so that a script killed by the cap can still be described.
 */
static void *plenum_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    plenum_limits *limits = (plenum_limits *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        limits->used -= old;
        free(ptr);
        return NULL;
    }
    if (limits->cap && nsize > old && !limits->reporting && limits->used - old + nsize > limits->cap) {
        limits->memory_tripped = 1;
        return NULL;
    }
    void *block = realloc(ptr, nsize);
    if (block == NULL) return NULL;
    limits->used = limits->used - old + nsize;
    if (limits->used > limits->peak) limits->peak = limits->used;
    return block;
}

plenum_limits *plenum_limits_of(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return (plenum_limits *)ud;
}

/* ---- the count hook: stop requests, CPU guard, where the script is ------------------- */

static const char *const stop_message =
    "device stopping: the script did not return within its stop grace period";
static const char *const guard_message =
    "CPU guard: the script ran too long without calling a blocking hub function "
    "(hub.sleep, hub.wait, serial reads)";

static void plenum_hook(lua_State *L, lua_Debug *ar);

static void raise_at(lua_State *L, int level, const char *message) {
    luaL_where(L, level);
    lua_pushstring(L, message);
    lua_concat(L, 2);
    lua_error(L);
}

/* From now on every hook call of this thread raises, so pcall cannot swallow the kill. */
static void kill_with(lua_State *L, int level, plenum_limits *limits, const char *message) {
    limits->killing = 1;
    limits->kill_message = message;
    lua_sethook(L, plenum_hook, LUA_MASKCOUNT, 1);
    raise_at(L, level, message);
}

void plenum_check_interrupt(lua_State *L, int level) {
    plenum_limits *limits = plenum_limits_of(L);
    if (limits->killing) raise_at(L, level, limits->kill_message);
    if (__atomic_load_n(&limits->stop, __ATOMIC_RELAXED)) kill_with(L, level, limits, stop_message);
    if (limits->guard_ns > 0) {
        long long started = __atomic_load_n(&limits->slice_start_ns, __ATOMIC_RELAXED);
        if (plenum_monotonic_ns() - started > limits->guard_ns) {
            limits->guard_tripped = 1;
            kill_with(L, level, limits, guard_message);
        }
    }
}

/* Publishes where the script is for other threads (a seqlock: only this thread writes). */
static void record_position(plenum_limits *limits, lua_State *L, lua_Debug *ar) {
    if (!lua_getinfo(L, "Sl", ar) || ar->currentline <= 0) return;
    unsigned sequence = __atomic_load_n(&limits->position_sequence, __ATOMIC_RELAXED);
    __atomic_store_n(&limits->position_sequence, sequence + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&limits->position_line, ar->currentline, __ATOMIC_RELAXED);
    for (size_t i = 0; i < PLENUM_SOURCE_MAX; i++) {
        char c = (i < LUA_IDSIZE && i < PLENUM_SOURCE_MAX - 1) ? ar->short_src[i] : '\0';
        __atomic_store_n(&limits->position_source[i], c, __ATOMIC_RELAXED);
        if (c == '\0') break;
    }
    __atomic_store_n(&limits->position_sequence, sequence + 2, __ATOMIC_RELEASE);
}

static void plenum_hook(lua_State *L, lua_Debug *ar) {
    plenum_check_interrupt(L, 0);
    record_position(plenum_limits_of(L), L, ar);
}

lua_State *plenum_newstate(plenum_limits *limits) {
    lua_State *L = lua_newstate(plenum_alloc, limits);
    if (L) lua_sethook(L, plenum_hook, LUA_MASKCOUNT, 1000);
    return L;
}

void plenum_set_limits(plenum_limits *limits, size_t cap, long long guard_ns) {
    limits->cap = cap;
    limits->guard_ns = guard_ns;
}

void plenum_request_stop(plenum_limits *limits) { __atomic_store_n(&limits->stop, 1, __ATOMIC_RELAXED); }

int plenum_stop_requested(plenum_limits *limits) { return __atomic_load_n(&limits->stop, __ATOMIC_RELAXED); }

void plenum_enter_blocking(plenum_limits *limits) { __atomic_add_fetch(&limits->blocking, 1, __ATOMIC_RELEASE); }

void plenum_leave_blocking(plenum_limits *limits) {
    __atomic_store_n(&limits->slice_start_ns, plenum_monotonic_ns(), __ATOMIC_RELAXED);
    __atomic_sub_fetch(&limits->blocking, 1, __ATOMIC_RELEASE);
}

void plenum_read_activity(plenum_limits *limits, plenum_activity *out) {
    out->running = __atomic_load_n(&limits->running, __ATOMIC_ACQUIRE);
    out->blocking = __atomic_load_n(&limits->blocking, __ATOMIC_ACQUIRE);
    out->slice_start_ns = __atomic_load_n(&limits->slice_start_ns, __ATOMIC_RELAXED);
    out->line = 0;
    out->source[0] = '\0';
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned before = __atomic_load_n(&limits->position_sequence, __ATOMIC_ACQUIRE);
        if (before & 1u) continue;
        int line = __atomic_load_n(&limits->position_line, __ATOMIC_RELAXED);
        char source[PLENUM_SOURCE_MAX];
        for (size_t i = 0; i < PLENUM_SOURCE_MAX; i++)
            source[i] = __atomic_load_n(&limits->position_source[i], __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&limits->position_sequence, __ATOMIC_RELAXED) != before) continue;
        source[PLENUM_SOURCE_MAX - 1] = '\0';
        out->line = line;
        memcpy(out->source, source, PLENUM_SOURCE_MAX);
        return;
    }
}

/* ---- the standard libraries the sandbox starts from -------------------------------- */

static int open_libraries(lua_State *L) {
    int native_patterns = lua_toboolean(L, 1);
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string}, {LUA_TABLIBNAME, luaopen_table},
        {LUA_MATHLIBNAME, luaopen_math}, {LUA_UTF8LIBNAME, luaopen_utf8},  {LUA_COLIBNAME, luaopen_coroutine},
        {LUA_OSLIBNAME, luaopen_os},     {LUA_DBLIBNAME, luaopen_debug},   {NULL, NULL}};
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    if (!native_patterns) {
        lua_getglobal(L, LUA_STRLIBNAME);
        plenum_install_patterns(L);
        lua_pop(L, 1);
    }
    return 0;
}

/* Entry points push at most four values before lua_pcall: Lua guarantees LUA_MINSTACK (20)
   free slots at top level and to every C function, so no stack check can fail here. */
int plenum_open_libraries(lua_State *L, int native_patterns) {
    lua_pushcfunction(L, open_libraries);
    lua_pushboolean(L, native_patterns);
    return lua_pcall(L, 1, 0, 0);
}

int plenum_load(lua_State *L, const char *source, size_t length, const char *chunkname) {
    return luaL_loadbufferx(L, source, length, chunkname, "t");
}

/* ---- running a script in a coroutine ----------------------------------------------- */

static int run_prepare(lua_State *L) {
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    return 1;
}

/* "file:line: " of the innermost Lua function on `co`'s stack, or "". */
static void push_where(lua_State *L, lua_State *co) {
    lua_Debug ar;
    for (int level = 0; lua_getstack(co, level, &ar); level++) {
        if (lua_getinfo(co, "Sl", &ar) && ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
    lua_pushliteral(L, "");
}

#define PLENUM_MESSAGE_MAX 4000

/* Arguments: the coroutine, its status. Its stack was not unwound: describe the error with
   the traceback of where it happened. Error objects are not converted with __tostring (no
   script code runs while an error is reported). */
static int describe(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    int status = (int)lua_tointeger(L, 2);
    plenum_limits *limits = plenum_limits_of(L);
    if (status == LUA_YIELD) {
        push_where(L, co);
        lua_pushliteral(L, "attempt to yield from outside a coroutine");
        lua_concat(L, 2);
    } else if (status == LUA_ERRMEM) {
        push_where(L, co);
        if (limits->memory_tripped && limits->cap) {
            lua_pushfstring(L, "not enough memory (the script's heap reached its memory_mb limit of %I MB)",
                            (lua_Integer)(limits->cap >> 20));
        } else {
            lua_pushliteral(L, "not enough memory");
        }
        lua_concat(L, 2);
    } else {
        lua_xmove(co, L, 1);
        int type = lua_type(L, -1);
        if (type == LUA_TSTRING || type == LUA_TNUMBER) {
            size_t length = 0;
            const char *message = lua_tolstring(L, -1, &length);
            if (length > PLENUM_MESSAGE_MAX) {
                lua_pushlstring(L, message, PLENUM_MESSAGE_MAX);
                lua_pushliteral(L, "… (message truncated)");
                lua_concat(L, 2);
            }
        } else {
            lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, -1));
        }
    }
    luaL_traceback(L, co, lua_tostring(L, -1), 0);
    return 1;
}

static int classify(lua_State *L, plenum_limits *limits, int status) {
    if (status == LUA_ERRMEM) return PLENUM_ERROR_MEMORY;
    if (limits->killing) return limits->guard_tripped ? PLENUM_ERROR_GUARD : PLENUM_ERROR_STOPPED;
    if (limits->memory_error && lua_type(L, -1) == LUA_TSTRING && strstr(lua_tostring(L, -1), "not enough memory"))
        return PLENUM_ERROR_MEMORY;
    return PLENUM_ERROR_RUNTIME;
}

int plenum_run(lua_State *L, int *kind) {
    plenum_limits *limits = plenum_limits_of(L);
    *kind = PLENUM_ERROR_RUNTIME;
    limits->memory_tripped = 0;
    limits->memory_error = 0;
    lua_pushcfunction(L, run_prepare);
    lua_insert(L, -2);
    int status = lua_pcall(L, 1, 1, 0);
    if (status != LUA_OK) {
        if (status == LUA_ERRMEM) *kind = PLENUM_ERROR_MEMORY;
        return status;
    }
    lua_State *co = lua_tothread(L, -1);
    int results = 0;
    __atomic_store_n(&limits->slice_start_ns, plenum_monotonic_ns(), __ATOMIC_RELAXED);
    __atomic_store_n(&limits->running, 1, __ATOMIC_RELEASE);
    status = lua_resume(co, L, 0, &results);
    __atomic_store_n(&limits->running, 0, __ATOMIC_RELEASE);
    if (status == LUA_OK) {
        if (results > 0) {
            lua_settop(co, lua_gettop(co) - results + 1);
            lua_xmove(co, L, 1);
        } else {
            lua_pushnil(L);
        }
        lua_remove(L, -2);
        return LUA_OK;
    }
    if (status == LUA_YIELD) lua_pop(co, results);
    /* Describe it; the report may pass the memory cap (it is bounded). */
    limits->reporting++;
    lua_pushcfunction(L, describe);
    lua_pushvalue(L, -2);
    lua_pushinteger(L, status);
    int described = lua_pcall(L, 2, 1, 0);
    limits->reporting--;
    lua_remove(L, -2); /* the coroutine */
    if (described != LUA_OK && lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushliteral(L, "(the error could not be described)");
    }
    *kind = classify(L, limits, status);
    return status == LUA_YIELD ? LUA_ERRRUN : status;
}

/* ---- host functions: results built in C ------------------------------------------- */

unsigned char *plenum_result_reserve(plenum_host_result *result, size_t length) {
    if (length <= PLENUM_INLINE_RESULT) {
        result->data = result->inline_data;
        result->owned = 0;
    } else {
        result->data = (unsigned char *)malloc(length);
        if (result->data == NULL) return NULL;
        result->owned = 1;
    }
    result->length = length;
    return result->data;
}

typedef struct value_reader {
    const unsigned char *at;
    const unsigned char *end;
} value_reader;

#define PLENUM_MAX_RESULT_DEPTH 200

static uint64_t read_u64(lua_State *L, value_reader *r) {
    if ((size_t)(r->end - r->at) < 8) luaL_error(L, "malformed host result");
    uint64_t v;
    memcpy(&v, r->at, 8);
    r->at += 8;
    return v;
}

static void build_value(lua_State *L, value_reader *r, int depth) {
    if (depth > PLENUM_MAX_RESULT_DEPTH) luaL_error(L, "result nested too deeply");
    luaL_checkstack(L, 3, "result nested too deeply");
    if (r->at >= r->end) luaL_error(L, "malformed host result");
    int tag = *r->at++;
    switch (tag) {
    case PLENUM_VALUE_NIL: lua_pushnil(L); break;
    case PLENUM_VALUE_FALSE: lua_pushboolean(L, 0); break;
    case PLENUM_VALUE_TRUE: lua_pushboolean(L, 1); break;
    case PLENUM_VALUE_INTEGER: {
        uint64_t bits = read_u64(L, r);
        int64_t v;
        memcpy(&v, &bits, 8);
        lua_pushinteger(L, (lua_Integer)v);
        break;
    }
    case PLENUM_VALUE_NUMBER: {
        uint64_t bits = read_u64(L, r);
        double d;
        memcpy(&d, &bits, 8);
        lua_pushnumber(L, (lua_Number)d);
        break;
    }
    case PLENUM_VALUE_STRING: {
        uint64_t length = read_u64(L, r);
        if (length > (uint64_t)(r->end - r->at)) luaL_error(L, "malformed host result");
        lua_pushlstring(L, (const char *)r->at, (size_t)length);
        r->at += length;
        break;
    }
    case PLENUM_VALUE_ARRAY: {
        uint64_t count = read_u64(L, r);
        if (count > (uint64_t)(r->end - r->at)) luaL_error(L, "malformed host result");
        lua_createtable(L, count > INT_MAX ? INT_MAX : (int)count, 0);
        for (uint64_t i = 1; i <= count; i++) {
            build_value(L, r, depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i);
        }
        break;
    }
    case PLENUM_VALUE_TABLE: {
        uint64_t count = read_u64(L, r);
        if (count > (uint64_t)(r->end - r->at)) luaL_error(L, "malformed host result");
        lua_createtable(L, 0, count > INT_MAX ? INT_MAX : (int)count);
        for (uint64_t i = 0; i < count; i++) {
            build_value(L, r, depth + 1);
            build_value(L, r, depth + 1);
            lua_rawset(L, -3);
        }
        break;
    }
    default: luaL_error(L, "malformed host result");
    }
}

/* Argument 1: the result (light userdata). Pushes its values. */
static int build_values(lua_State *L) {
    plenum_host_result *result = (plenum_host_result *)lua_touserdata(L, 1);
    value_reader reader = {result->data, result->data + result->length};
    lua_settop(L, 0);
    for (int i = 0; i < result->count; i++) build_value(L, &reader, 0);
    return result->count;
}

static int build_message(lua_State *L) {
    plenum_host_result *result = (plenum_host_result *)lua_touserdata(L, 1);
    lua_pushlstring(L, (const char *)result->data, result->length);
    return 1;
}

/* Scalars push without allocating, so they need no protected call (the fast path of
   hub.publish's version number). */
static int push_scalars(lua_State *L, plenum_host_result *result) {
    const unsigned char *at = result->data, *end = result->data + result->length;
    for (int i = 0; i < result->count; i++) {
        if (at >= end) return 0;
        int tag = *at;
        size_t size = (tag == PLENUM_VALUE_INTEGER || tag == PLENUM_VALUE_NUMBER) ? 9 : 1;
        if (tag > PLENUM_VALUE_NUMBER || (size_t)(end - at) < size) return 0;
        at += size;
    }
    value_reader reader = {result->data, end};
    for (int i = 0; i < result->count; i++) {
        int tag = *reader.at++;
        switch (tag) {
        case PLENUM_VALUE_NIL: lua_pushnil(L); break;
        case PLENUM_VALUE_FALSE: lua_pushboolean(L, 0); break;
        case PLENUM_VALUE_TRUE: lua_pushboolean(L, 1); break;
        default: {
            uint64_t bits;
            memcpy(&bits, reader.at, 8);
            reader.at += 8;
            if (tag == PLENUM_VALUE_INTEGER) {
                int64_t v;
                memcpy(&v, &bits, 8);
                lua_pushinteger(L, (lua_Integer)v);
            } else {
                double d;
                memcpy(&d, &bits, 8);
                lua_pushnumber(L, (lua_Number)d);
            }
        }
        }
    }
    return 1;
}

/* "file:line: " of the script code that called the host function: the first frame above it
   that is not one of the hub's own Lua wrappers (chunks named "=hub", "=sandbox"…), so that
   `port:read(…)` errors name the script's line, not the wrapper's. A C caller (pcall) gives "",
   as luaL_where does. */
static void push_caller_where(lua_State *L) {
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar)) break;
        if (ar.source[0] == '=' && strcmp(ar.source, "=[C]") != 0) continue;
        if (ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
        break;
    }
    lua_pushliteral(L, "");
}

static int plenum_trampoline(lua_State *L) {
    /* A host call is a check point too: a script that spent its slice in a C function is
       stopped at its next call into the hub, however few Lua instructions come before it. */
    plenum_check_interrupt(L, 1);
    plenum_swift_fn fn = (plenum_swift_fn)lua_touserdata(L, lua_upvalueindex(1));
    void *context = lua_touserdata(L, lua_upvalueindex(2));
    plenum_host_result result;
    result.data = NULL;
    result.length = 0;
    result.count = 0;
    result.owned = 0;
    fn(L, context, &result);
    /* Swift has returned: from here on raising is safe. */
    int is_error = result.count == PLENUM_HOST_ERROR;
    int count = is_error ? 1 : result.count;
    int status = LUA_OK;
    if (count > 0 && !lua_checkstack(L, count + 4)) {
        status = LUA_ERRERR;
    } else if (count > 0 && (is_error || !push_scalars(L, &result))) {
        lua_pushcfunction(L, is_error ? build_message : build_values);
        lua_pushlightuserdata(L, &result);
        status = lua_pcall(L, 1, count, 0);
    }
    if (result.owned) free(result.data);
    if (status == LUA_ERRERR) return luaL_error(L, "too many results");
    if (status == LUA_ERRMEM) {
        plenum_limits_of(L)->memory_error = 1;
        return luaL_error(L, "not enough memory: this call's result does not fit under the script's memory limit");
    }
    if (status != LUA_OK || is_error) {
        push_caller_where(L);
        lua_insert(L, -2);
        lua_concat(L, 2);
        return lua_error(L);
    }
    return count;
}

/* Arguments: table name or NULL, name, function, context (all light userdata). */
static int register_function(lua_State *L) {
    const char *table = (const char *)lua_touserdata(L, 1);
    const char *name = (const char *)lua_touserdata(L, 2);
    if (table) {
        if (lua_getglobal(L, table) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -1);
            lua_setglobal(L, table);
        }
    }
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 4);
    lua_pushcclosure(L, plenum_trampoline, 2);
    if (table) {
        lua_setfield(L, -2, name);
    } else {
        lua_setglobal(L, name);
    }
    return 0;
}

int plenum_register(lua_State *L, const char *table, const char *name, plenum_swift_fn fn, void *context) {
    lua_pushcfunction(L, register_function);
    lua_pushlightuserdata(L, (void *)table);
    lua_pushlightuserdata(L, (void *)name);
    lua_pushlightuserdata(L, (void *)fn);
    lua_pushlightuserdata(L, context);
    return lua_pcall(L, 4, 0, 0);
}

/* Arguments: name, data, length (light userdata, light userdata, integer). */
static int set_global(lua_State *L) {
    const char *name = (const char *)lua_touserdata(L, 1);
    const unsigned char *data = (const unsigned char *)lua_touserdata(L, 2);
    value_reader reader = {data, data + (size_t)lua_tointeger(L, 3)};
    build_value(L, &reader, 0);
    lua_setglobal(L, name);
    return 0;
}

int plenum_set_global(lua_State *L, const char *name, const unsigned char *data, size_t length) {
    lua_pushcfunction(L, set_global);
    lua_pushlightuserdata(L, (void *)name);
    lua_pushlightuserdata(L, (void *)data);
    lua_pushinteger(L, (lua_Integer)length);
    return lua_pcall(L, 3, 0, 0);
}
