/* WHEP endpoints (WebRTC-HTTP Egress Protocol) as a room-wide source: one
 * endpoint is one participant (room.url, room.endpoints). */
#ifndef EGW_WHEP_H
#define EGW_WHEP_H

#include "sfu/source.h"

extern const egw_source_ops_t egw_whep_source;

#endif
