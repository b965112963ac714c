/* The adapters this build has, found by the name a request gives in
 * room.sfu. */
#include <stddef.h>
#include <string.h>

#include "sfu/janus.h"
#include "sfu/rtp.h"
#include "sfu/source.h"
#include "sfu/whep.h"

static const egw_source_ops_t *const adapters[] = {
        &egw_janus_source,
        &egw_rtp_source,
        &egw_whep_source,
};

const egw_source_ops_t *egw_source_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(adapters) / sizeof(adapters[0]); i++)
		if (!strcmp(adapters[i]->name, name))
			return adapters[i];
	return NULL;
}

const char *egw_source_names(void)
{
	return "janus, rtp, whep";
}
