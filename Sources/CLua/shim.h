#ifndef PLENUM_CLUA_SHIM_H
#define PLENUM_CLUA_SHIM_H

/*
 * The system's Lua 5.4 (Debian liblua5.4-dev, pkg-config lua5.4): its headers, nothing else.
 * Plenum's own C on top of it (allocator, hooks, trampoline, macro wrappers) is the compiled
 * target CPlenumLua.
 */

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#endif
