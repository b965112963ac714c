/* Media kinds, shared by the contract (what a request asks for) and the
 * sources (what a room offers). */
#ifndef EGW_MEDIA_H
#define EGW_MEDIA_H

typedef enum egw_media {
	EGW_MEDIA_NONE = 0,
	EGW_MEDIA_AUDIO = 1,
	EGW_MEDIA_VIDEO = 2,
} egw_media_t;

/* "audio", "video" or "none". */
static inline const char *egw_media2str(egw_media_t m)
{
	return m == EGW_MEDIA_AUDIO ? "audio" : m == EGW_MEDIA_VIDEO ? "video" : "none";
}

#endif
