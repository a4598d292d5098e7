/*
 * The trace hash of one event (evhash.c): ev_hash() is the fast form,
 * ev_hash_ref() the plain byte-by-byte FNV-1a it must equal.
 */
#ifndef MIGRACE_EVHASH_H
#define MIGRACE_EVHASH_H

#include <migrace/kernel.h>

u64 ev_hash(u64 h, int cpu, int kind, const char *what, unsigned long addr,
	    u64 val);
u64 ev_hash_ref(u64 h, int cpu, int kind, const char *what,
		unsigned long addr, u64 val);
/* FNV-1a of @what then @func, the fuzz targets' id of a point */
u32 ev_point_id(const char *what, const char *func);

#endif
