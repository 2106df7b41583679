/* Umbrella header: the only include a plugin needs. */
#ifndef ORCH_ORCH_H
#define ORCH_ORCH_H
#include "abi.h"
#include "status.h"
#include "option.h"
#include "host.h"
#include "plugin.h"
#include "backend.h"
#include "step.h"
#include "store.h"
#endif
