// SPDX-License-Identifier: GPL-2.0
/*
 * The LRU (mm/swap.c): pages enter through a small per-CPU batch that must
 * be drained (lru_add_drain) before they can be isolated.
 */
#include <migrace/check.h>
#include <migrace/cpu.h>
#include <migrace/migrate.h>
#include <migrace/swap.h>
#include "internal.h"

#define LRU_BATCH 4

struct lruvec lruvec;

/*
 * Per-CPU batches.  Linux guards them with a local lock and drains other
 * CPUs' batches through per-CPU work; here the drain takes the batch's
 * lock directly, which orders the same way.
 */
static struct {
	spinlock_t lock;
	struct page *pages[LRU_BATCH];
	int nr;
} lru_add_batch[NR_CPUS + 1];	/* + 1: set-up and teardown context */

static int this_cpu(void)
{
	return current_cpu ? current_cpu->id : NR_CPUS;
}

void lru_reset(void)
{
	spin_lock_init(&lruvec.lru_lock, "lru_lock");
	INIT_LIST_HEAD(&lruvec.list);
	memset(lru_add_batch, 0, sizeof(lru_add_batch));
	for (int i = 0; i <= NR_CPUS; i++)
		spin_lock_init(&lru_add_batch[i].lock, "lru_add local_lock");
}

/* The batch lock is held. */
static void __lru_add_drain_cpu(int cpu)
{
	int nr = lru_add_batch[cpu].nr;

	for (int i = 0; i < nr; i++) {
		struct page *page = lru_add_batch[cpu].pages[i];

		spin_lock(&lruvec.lru_lock);
		VM_BUG_ON_PAGE(PageLRU(page), page);
		SetPageLRU(page);
		list_add_tail(&page->lru, &lruvec.list);
		page->lru_batch_cpu = 0;
		spin_unlock(&lruvec.lru_lock);
		put_page(page);	/* the batch's reference */
	}
	lru_add_batch[cpu].nr = 0;
}

void lru_add_drain_cpu(int cpu)
{
	spin_lock(&lru_add_batch[cpu].lock);
	__lru_add_drain_cpu(cpu);
	spin_unlock(&lru_add_batch[cpu].lock);
}

void lru_add_drain(void)
{
	lru_add_drain_cpu(this_cpu());
}

/* Linux schedules work on every CPU; here the batches are drained in place. */
void lru_add_drain_all(void)
{
	for (int cpu = 0; cpu < NR_CPUS; cpu++)
		lru_add_drain_cpu(cpu);
}

void lru_cache_add(struct page *page)
{
	int cpu = this_cpu();

	VM_BUG_ON_PAGE(PageLRU(page), page);
	get_page(page);
	spin_lock(&lru_add_batch[cpu].lock);
	page->lru_batch_cpu = cpu + 1;
	lru_add_batch[cpu].pages[lru_add_batch[cpu].nr++] = page;
	if (lru_add_batch[cpu].nr == LRU_BATCH)
		__lru_add_drain_cpu(cpu);
	spin_unlock(&lru_add_batch[cpu].lock);
}

void lru_cache_add_inactive_or_unevictable(struct page *page,
					   struct vm_area_struct *vma)
{
	(void)vma;
	lru_cache_add(page);
}

void lru_del_page(struct page *page)
{
	spin_lock(&lruvec.lru_lock);
	if (PageLRU(page)) {
		ClearPageLRU(page);
		list_del_init(&page->lru);
	}
	spin_unlock(&lruvec.lru_lock);
}

/*
 * folio_isolate_lru(): 0, isolated with a reference; -EBUSY: not on the
 * LRU.  The caller holds a reference.  (Linux tests and clears PG_lru
 * before it takes the lru_lock; here both are done under it.)
 */
int folio_isolate_lru(struct folio *folio)
{
	struct page *page = &folio->page;
	int ret = -EBUSY;

	VM_BUG_ON_FOLIO(!folio_ref_count(folio), folio);
	spin_lock(&lruvec.lru_lock);
	if (PageLRU(page)) {
		get_page(page);
		ClearPageLRU(page);
		list_del_init(&page->lru);
		ret = 0;
	}
	spin_unlock(&lruvec.lru_lock);
	return ret;
}

int isolate_lru_page(struct page *page)
{
	return folio_isolate_lru(page_folio(page));
}

void putback_lru_page(struct page *page)
{
	lru_cache_add(page);
	put_page(page);	/* drop the isolation reference */
}

/*
 * MADV_FREE: move a clean anon page to the inactive list as lazily
 * freeable (no longer swap-backed).  Linux batches this per CPU
 * (lru_lazyfree); here it happens at once under the lru_lock.
 */
void mark_page_lazyfree(struct page *page)
{
	spin_lock(&lruvec.lru_lock);
	if (PageLRU(page) && PageAnon(page) && PageSwapBacked(page) &&
	    !PageSwapCache(page) && !PageUnevictable(page)) {
		ClearPageActive(page);
		ClearPageReferenced(page);
		ClearPageSwapBacked(page);
		list_move_tail(&page->lru, &lruvec.list);
	}
	spin_unlock(&lruvec.lru_lock);
}

/* MADV_COLD: to the inactive list (lru_deactivate, done at once). */
void deactivate_page(struct page *page)
{
	spin_lock(&lruvec.lru_lock);
	if (PageLRU(page) && PageActive(page) && !PageUnevictable(page)) {
		ClearPageActive(page);
		ClearPageReferenced(page);
		list_move_tail(&page->lru, &lruvec.list);
	}
	spin_unlock(&lruvec.lru_lock);
}

/* move_folios_to_lru(): put back what reclaim kept. */
void putback_lru_list(struct list_head *list)
{
	while (!list_empty(list)) {
		struct page *page = list_first_entry(list, struct page, lru);

		list_del_init(&page->lru);
		putback_lru_page(page);
	}
}
