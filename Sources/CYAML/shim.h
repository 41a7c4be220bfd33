#ifndef PLENUM_CYAML_SHIM_H
#define PLENUM_CYAML_SHIM_H
#include <yaml.h>
#endif
