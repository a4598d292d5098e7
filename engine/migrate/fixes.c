// SPDX-License-Identifier: GPL-2.0
/*
 * The fix registry (see shared FIXES.md): names are a contract.
 */
#include <stdio.h>
#include <string.h>

#include <migrace/fixes.h>

const struct fix_info fix_table[NR_FIXES] = {
	[FIX_FLUSH_TLB_UNDER_PTL] = {
		FIX_FLUSH_TLB_UNDER_PTL, "flush-tlb-under-ptl", "2022-09-11",
		"mm/migrate_device.c: flush TLB while holding PTL" },
	[FIX_FLUSH_CACHE_PAGE] = {
		FIX_FLUSH_CACHE_PAGE, "flush-cache-page", "2022-09-11",
		"mm/migrate_device.c: add missing flush_cache_page()" },
	[FIX_COPY_DIRTY_BIT] = {
		FIX_COPY_DIRTY_BIT, "copy-dirty-bit", "2022-09-11",
		"mm/migrate_device.c: copy pte dirty bit to page" },
	[FIX_YOUNG_DIRTY_ENTRY] = {
		FIX_YOUNG_DIRTY_ENTRY, "young-dirty-entry", "2022-09-26",
		"mm: remember young/dirty bit for page migrations" },
	[FIX_ANON_EXCLUSIVE] = {
		FIX_ANON_EXCLUSIVE, "anon-exclusive", "2022-05-09",
		"mm: remember exclusively mapped anonymous pages with PG_anon_exclusive" },
	[FIX_DEVICE_PRIVATE_FAULT_REF] = {
		FIX_DEVICE_PRIVATE_FAULT_REF, "device-private-fault-ref",
		"2022-10-12",
		"mm/memory.c: fix race when faulting a device private page" },
	[FIX_DEVICE_PAGES_SKIP_EMPTY] = {
		FIX_DEVICE_PAGES_SKIP_EMPTY, "device-pages-skip-empty",
		"2022-10-12",
		"mm/migrate_device.c: add migrate_device_range()" },
	[FIX_CPAGES_COUNT] = {
		FIX_CPAGES_COUNT, "cpages-count", "2022-11-22",
		"mm/migrate_device: return number of migrating pages in args->cpages" },
	/* A finding of this harness (docs/findings.md): the fix it proposes. */
	[FIX_DEVICE_RANGE_ANON_VMA_REF] = {
		FIX_DEVICE_RANGE_ANON_VMA_REF, "device-range-anon-vma-ref",
		"proposed",
		"migrace finding: hold the anon_vma from migrate_device_unmap() to finalize (not in Linux)" },
	[FIX_MIGRATE_ANON_VMA_RCU] = {
		FIX_MIGRATE_ANON_VMA_RCU, "migrate-anon-vma-rcu", "(2.6.2x)",
		"classic migrate.c: keep the anon_vma alive while a page is unmapped for migration" },
	[FIX_EXCLUSIVE_FAULT_REF] = {
		FIX_EXCLUSIVE_FAULT_REF, "exclusive-fault-ref", "2023-03-30",
		"mm: take a page reference when removing device exclusive entries" },
	/* A finding of this harness in lib/test_hmm.c (docs/findings.md). */
	[FIX_DMIRROR_WRITE_OWN_PRIVATE] = {
		FIX_DMIRROR_WRITE_OWN_PRIVATE, "dmirror-write-own-private",
		"proposed",
		"migrace finding: test_hmm's device write WARNs on a read-only device-private page of its own (not in Linux)" },
	[FIX_DMIRROR_FAULT_OWN_MIGRATION] = {
		FIX_DMIRROR_FAULT_OWN_MIGRATION, "dmirror-fault-own-migration",
		"proposed",
		"migrace finding: test_hmm's device fault maps a page its own migration has copied (not in Linux)" },
};

unsigned long fixes_reverted;
bool variant_rfc_unified;

int fixes_parse(const char *list, unsigned long *mask)
{
	const char *tok = list;

	/*
	 * Walk the list in place: a copy into a fixed buffer would cut a
	 * long list and accept whatever bad name lay past the cut.  Empty
	 * lists and empty names ("a,,b", "a,") are errors, not "none".
	 */
	*mask = 0;
	if (!strcmp(list, "none"))
		return 0;
	if (!strcmp(list, "all")) {
		*mask = (1UL << NR_FIXES) - 1;
		return 0;
	}
	for (;;) {
		size_t len = strcspn(tok, ",");
		int i;

		for (i = 0; i < NR_FIXES; i++)
			if (strlen(fix_table[i].name) == len &&
			    !strncmp(tok, fix_table[i].name, len))
				break;
		if (i == NR_FIXES) {
			*mask = 0;
			return -1;
		}
		*mask |= 1UL << i;
		if (!tok[len])
			return 0;
		tok += len + 1;
	}
}

void fixes_format(unsigned long mask, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int i = 0; i < NR_FIXES; i++)
		if (mask & (1UL << i))
			off += snprintf(buf + off, len - off, "%s%s",
					off ? "," : "", fix_table[i].name);
	if (!off)
		snprintf(buf, len, "none");
}
