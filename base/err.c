#include "base/err.h"

#include <stddef.h>

static const struct {
	const char *code;
	const char *desc;
	int retriable;
} errtab[] = {
	[EGW_OK] = {"ok", "Success", 0},
	[EGW_ERR_INVALID_REQUEST] = {"invalid_request", "Invalid request", 0},
	[EGW_ERR_NOT_SUPPORTED] = {"not_supported", "Not supported yet", 0},
	[EGW_ERR_NOT_FOUND] = {"not_found", "Not found", 0},
	[EGW_ERR_SFU] = {"sfu_error", "SFU error", 1},
	[EGW_ERR_SFU_UNREACHABLE] = {"sfu_unreachable", "SFU unreachable", 1},
	[EGW_ERR_MEDIA] = {"media_error", "Media pipeline error", 0},
	[EGW_ERR_IO] = {"io_error", "I/O error", 1},
	[EGW_ERR_KAFKA] = {"kafka_error", "Kafka error", 1},
	[EGW_ERR_TIMEOUT] = {"timeout", "Timed out", 1},
	[EGW_ERR_NOMEM] = {"out_of_memory", "Out of memory", 0},
	[EGW_ERR_INTERNAL] = {"internal_error", "Internal error", 0},
	[EGW_ERR_CAPACITY] = {"capacity", "Worker at capacity", 1},
	[EGW_ERR_WORKER_LOST] = {"worker_lost", "Job process died", 0},
	[EGW_ERR_UNAUTHORIZED] = {"unauthorized", "Not allowed by the SFU", 0},
	[EGW_ERR_OUTPUT_EXISTS] = {"output_exists", "Output path already taken", 0},
	[EGW_ERR_EXPIRED] = {"expired", "Request expired", 0},
	[EGW_ERR_STORAGE] = {"storage_error", "Storage refused the request", 0},
	[EGW_ERR_STORAGE_UNREACHABLE] = {"storage_unreachable", "Storage unreachable", 1},
};

static int known(egw_err_t err)
{
	return (int)err >= 0 && (size_t)err < sizeof(errtab) / sizeof(errtab[0]) &&
	       errtab[err].code != NULL;
}

const char *egw_err2str(egw_err_t err)
{
	return known(err) ? errtab[err].desc : "Unknown error";
}

const char *egw_err2code(egw_err_t err)
{
	return known(err) ? errtab[err].code : "internal_error";
}

int egw_err_retriable(egw_err_t err)
{
	return known(err) ? errtab[err].retriable : 0;
}
