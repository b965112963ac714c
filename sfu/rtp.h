/* Plain RTP and SRTP (SDES keys) forwarded to the worker, described by
 * SDPs (room.sdp, room.sdps) instead of signalled: a room-wide source. */
#ifndef EGW_RTP_H
#define EGW_RTP_H

#include "sfu/source.h"

extern const egw_source_ops_t egw_rtp_source;

#endif
