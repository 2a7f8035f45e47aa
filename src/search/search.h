/* search.h - test-time search (docs/search.md). Its API is public
 * (include/trm.h: trm_search_run, trm_search_opts, trm_search_eval_solve);
 * this header stays for the library's own sources, which also need the
 * task interface. */
#ifndef TRM_SEARCH_H
#define TRM_SEARCH_H

#include "tasks/task.h"
#include "trm.h"

#endif
