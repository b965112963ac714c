/* Debian's libsrtp2 does its crypto with NSS, and every cipher and
 * authenticator it allocates opens an NSS context of its own: when the
 * last one closes, NSS unloads its software token (libsoftokn3, libfreebl).
 * In a process that holds no context, each SRTP session set up and every
 * self-test srtp_init() runs loads and unloads those libraries again:
 * 14 times during one subscription's start, about half of a warm start's
 * CPU (a profile of warm job processes: docs/architecture.md, "Spare job
 * processes"). One context held for the life of the process keeps NSS
 * loaded; the flags are libsrtp2's own, so its contexts share this
 * initialisation. */
#include "sfu/prepare.h"

#include <gst/gst.h>
#include <nss.h>

static NSSInitContext *held; /* (never closed: NSS stays for the process) */

static void hold_nss(void)
{
	held = NSS_InitContext("", "", "", "", NULL,
	                       NSS_INIT_READONLY | NSS_INIT_NOCERTDB | NSS_INIT_NOMODDB |
	                               NSS_INIT_FORCEOPEN | NSS_INIT_OPTIMIZESPACE);
}

static gpointer prepare_once(gpointer unused)
{
	/* dtlsdec first: the certificate (an RSA key, 0.1 to 1 s of CPU) is
	 * made when the first DTLS element is; then the transport's plugins. */
	static const char *const factories[] = {
	        "dtlsdec",      "dtlssrtpdec", "dtlssrtpenc", "srtpdec", "srtpenc",
	        "nicesrc",      "nicesink",    "rtpbin",      "rtpjitterbuffer",
	        "rtprtxreceive", "rtpstorage",  "rtpfunnel",
	};

	hold_nss();
	for (size_t i = 0; i < sizeof(factories) / sizeof(factories[0]); i++) {
		GstElement *e = gst_element_factory_make(factories[i], NULL);
		if (e)
			gst_object_unref(gst_object_ref_sink(e));
	}
	return NULL;
}

void egw_sfu_prepare(void)
{
	static GOnce once = G_ONCE_INIT;

	g_once(&once, prepare_once, NULL);
}
