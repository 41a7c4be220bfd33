// SQLite 3 for PlenumTrends, the one Swift module that imports it (`internal import CSQLite`).
#ifndef PLENUM_CSQLITE_SHIM_H
#define PLENUM_CSQLITE_SHIM_H

#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import:
// passed to sqlite3_bind_text/blob it makes SQLite copy the bytes before the call returns.
static inline sqlite3_destructor_type plenum_sqlite_transient(void) { return SQLITE_TRANSIENT; }

#endif
