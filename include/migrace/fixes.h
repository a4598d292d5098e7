/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fix registry: each historical fix is a named switch read at run time.
 * fix_enabled(FIX_X) is true unless the run reverts X; the code keeps both
 * versions side by side in the function the fix touched.
 */
#ifndef MIGRACE_FIXES_H
#define MIGRACE_FIXES_H

#include <migrace/kernel.h>

enum fix_id {
	FIX_FLUSH_TLB_UNDER_PTL,
	FIX_FLUSH_CACHE_PAGE,
	FIX_COPY_DIRTY_BIT,
	FIX_YOUNG_DIRTY_ENTRY,
	FIX_ANON_EXCLUSIVE,
	FIX_DEVICE_PRIVATE_FAULT_REF,
	FIX_DEVICE_PAGES_SKIP_EMPTY,
	FIX_CPAGES_COUNT,
	FIX_DEVICE_RANGE_ANON_VMA_REF,	/* proposed by migrace, not in Linux */
	FIX_MIGRATE_ANON_VMA_RCU,
	FIX_EXCLUSIVE_FAULT_REF,
	FIX_DMIRROR_WRITE_OWN_PRIVATE,	/* proposed by migrace, not in Linux */
	FIX_DMIRROR_FAULT_OWN_MIGRATION, /* proposed by migrace, not in Linux */
	NR_FIXES
};

struct fix_info {
	enum fix_id id;
	const char *name;
	const char *date;
	const char *title;
};

extern const struct fix_info fix_table[NR_FIXES];
extern unsigned long fixes_reverted;	/* bit per enum fix_id */

static inline bool fix_enabled(enum fix_id id)
{
	return !(fixes_reverted & (1UL << id));
}

/*
 * The variant: upstream, or the RFC of seed 001 ("mm: unified fault and
 * migrate device page paths"), ported as the patch writes it.  Like a fix
 * switch, both versions sit side by side where the patch changes code
 * (mm/hmm.c, mm/migrate_device.c, the driver's migrate-on-fault path).
 */
extern bool variant_rfc_unified;

/* Parse "a,b", "all" or "none" into a mask; -1 on an unknown name. */
int fixes_parse(const char *list, unsigned long *mask);
/* Comma-separated names of the set bits ("none" if empty). */
void fixes_format(unsigned long mask, char *buf, size_t len);

#endif
