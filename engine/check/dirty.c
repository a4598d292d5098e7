/*
 * Oracle 7, accessed/dirty information.
 *
 * Dirty state is never lost: whenever the kernel frees a clean folio
 * because its swap copy is current, and a swap pte still references that
 * copy, the folio's bytes must equal it.  A mismatch is reported at the
 * moment of the drop, before the data is gone.
 *
 * With --strict, migration is invisible to accessed/dirty information
 * too: a pte that was young (dirty) when a migration entry replaced it
 * is young (dirty) when a present pte replaces the migration entry.
 * The page-table accessors report every pte update here; the state is
 * one byte per pte slot, kept in the pte table (harness instrumentation).
 *
 * Nothing here knows about any fix.
 */
#include <stdio.h>

#include <migrace/check.h>
#include <migrace/pgtable.h>

bool oracle_strict;

void check_clean_folio_dropped(struct page *page, const u64 *copy,
			       unsigned long slot, int swap_count)
{
	unsigned long addr = page->index << PAGE_SHIFT;
	int bad = -1;

	/*
	 * No swap pte references the slot any more (every mapping moved
	 * to a copy, or was zapped): nobody can read these bytes again.
	 */
	if (!swap_count)
		return;

	for (int s = 0; s < PAGE_SLOTS; s++)
		if (page_data_read(page, s) != copy[s]) {
			bad = s;
			break;
		}
	if (bad < 0)
		return;
	report_detail("pfn %lu (last mapped at %#lx) is clean in the swap cache, but slot %d holds %#llx and swap slot %lu holds %#llx",
		      page_to_pfn(page), addr, bad,
		      (unsigned long long)page_data_read(page, bad), slot,
		      (unsigned long long)copy[bad]);
	report_detail("reclaim frees it without writeback: the newer data is lost");
	report_page(page);
	report_bug(NULL, addr,
		   "data loss: clean folio dropped from the swap cache differs from its swap copy");
}

#define AD_VALID 0x80
#define AD_YOUNG 0x1
#define AD_DIRTY 0x2

static bool is_migration_pte(u64 v)
{
	pte_t pte = __pte(v);

	return is_swap_pte(pte) && is_migration_entry(pte_to_swp_entry(pte));
}

void check_pte_update(void *p, u64 old, u64 new, unsigned long addr)
{
	pte_t *ptep = p;
	struct pte_table *t = pte_table_of(ptep);
	u8 *ad = &t->ad_shadow[ptep - t->ptes];
	pte_t o = __pte(old), n = __pte(new);

	if (pte_present(o) && pte_none(n)) {
		/* maybe about to become a migration entry */
		*ad = AD_VALID | (pte_young(o) ? AD_YOUNG : 0) |
		      (pte_dirty(o) ? AD_DIRTY : 0);
		return;
	}
	if (pte_none(o) && is_migration_pte(new))
		return;		/* keep what the cleared pte had */
	if (is_migration_pte(old) && pte_present(n) && (*ad & AD_VALID) &&
	    oracle_strict) {
		bool lost_young = (*ad & AD_YOUNG) && !pte_young(n);
		bool lost_dirty = (*ad & AD_DIRTY) && !pte_dirty(n);

		if (lost_young || lost_dirty) {
			report_object(ptep, sizeof(*ptep), RO_PTE);
			if (pte_present(n) && pfn_valid(pte_pfn(n)))
				report_page(pfn_to_page(pte_pfn(n)));
			report_detail("the pte at %#lx was%s%s when a migration entry replaced it; the pte restored is %s%s (%#llx)",
				      addr, (*ad & AD_YOUNG) ? " young" : "",
				      (*ad & AD_DIRTY) ? " dirty" : "",
				      pte_young(n) ? "young" : "old",
				      pte_dirty(n) ? " and dirty" : " and clean",
				      (unsigned long long)new);
			report_bug(t->mm, addr,
				   "strict: migration lost the %s bit of the pte at %#lx",
				   lost_dirty ? "dirty" : "accessed", addr);
		}
	}
	*ad = 0;
}
