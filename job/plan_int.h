/* Shared by job/plan*.c and job/cost.c only. */
#ifndef EGW_JOB_PLAN_INT_H
#define EGW_JOB_PLAN_INT_H

#include "contract/request.h"
#include "pipelines/plan.h"
#include "sfu/source.h"

/* Can this build composite job (encoding, codecs per output format,
 * layout)? Fills enc when not NULL. */
egw_err_t egw_plan_composite_check(const egw_job_t *job, egw_encode_plan_t *enc, char *errstr,
                                   size_t errstr_size);
/* The composite parts of the plan: graph, encoding, layout, mix, and
 * which tracks the source takes. */
egw_err_t egw_plan_composite(const egw_job_t *job, egw_media_plan_t *media,
                             egw_source_filter_t *filter, char *errstr, size_t errstr_size);

#endif
