#ifndef PLENUM_INTERNAL_H
#define PLENUM_INTERNAL_H

#include "plenum_lua.h"

/* Shared between the files of CPlenumLua; not part of its interface. */

plenum_limits *plenum_limits_of(lua_State *L);

/* Raises (from C) when a stop was requested or the CPU guard's slice is over: what the count
   hook does between Lua instructions, callable from long-running C code. The message names
   the Lua function at stack `level` (0 in a hook: the running function; 1 in a C function:
   its caller). */
void plenum_check_interrupt(lua_State *L, int level);

/* Replaces string.find, match, gmatch and gsub (the `string` table is on top of the stack). */
void plenum_install_patterns(lua_State *L);

#endif
