/* Janus VideoRoom (multistream API, HTTP transport) as a room-wide source:
 * a hidden subscriber, one subscriber handle per publisher. */
#ifndef EGW_JANUS_H
#define EGW_JANUS_H

#include "sfu/source.h"

extern const egw_source_ops_t egw_janus_source;

#endif
