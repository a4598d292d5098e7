// SPDX-License-Identifier: GPL-2.0
/*
 * mm/compaction.c, Linux 6.1, reduced to what races a migration: the
 * migrate scanner (isolate_migratepages_block()) takes the LRU pages of
 * one node with no mmap lock and no page table lock, and migrate_pages()
 * moves them to free pages of the same node (compaction_alloc()).
 *
 * Simplified: one pass over the whole node (no pageblocks, skip bits or
 * deferral), and compaction_alloc() takes a free page of the node from
 * the allocator instead of running the free scanner: there is no
 * fragmentation to undo here, only the migration to race.
 */
#include <migrace/check.h>
#include <migrace/migrate.h>
#include "internal.h"

struct compact_control {
	struct list_head migratepages;	/* List of pages being migrated */
	unsigned long nr_migratepages;	/* Number of pages to migrate */
	int nid;			/* the node being compacted */
	enum migrate_mode mode;		/* Async or sync migration */
};

/*
 * isolate_migratepages_block() - isolate all migrate-able pages within
 *				  a single pageblock
 * @cc:		Compaction control structure.
 * @low_pfn:	The first PFN to isolate
 * @end_pfn:	The one-past-the-last PFN to isolate
 *
 * Isolate all pages that can be migrated from the range specified by
 * [low_pfn, end_pfn). The range is expected to be within same pageblock.
 * Nothing is held but the lru_lock while a page is taken off the list.
 */
static void isolate_migratepages_block(struct compact_control *cc,
				       unsigned long low_pfn,
				       unsigned long end_pfn)
{
	for (; low_pfn < end_pfn; low_pfn++) {
		struct page *page = pfn_to_page(low_pfn);
		void *mapping;

		/*
		 * Skip if free. We read page order here without zone lock
		 * which is generally unsafe, but the race window is small and
		 * the worst thing that can happen is that we skip some
		 * potential isolation targets.
		 */
		if (PageBuddy(page))
			continue;

		/*
		 * Check may be lockless but that's ok as we recheck later.
		 * Only LRU pages are movable here.
		 */
		if (!PageLRU(page))
			continue;

		/*
		 * Migration will fail if an anonymous page is pinned in memory,
		 * so avoid taking lru_lock and isolating it unnecessarily in an
		 * admittedly racy check.
		 */
		mapping = page_mapping(page);
		if (!mapping && page_count(page) > page_mapcount(page))
			continue;

		/*
		 * Be careful not to clear PageLRU until after we're
		 * sure the page is not being freed elsewhere -- the
		 * page release code relies on it.
		 */
		if (unlikely(!get_page_unless_zero(page)))
			continue;

		/* Try isolate the page (TestClearPageLRU under the lru_lock) */
		spin_lock(&lruvec.lru_lock);
		if (!PageLRU(page)) {
			spin_unlock(&lruvec.lru_lock);
			goto isolate_fail_put;
		}
		ClearPageLRU(page);
		list_del_init(&page->lru);
		spin_unlock(&lruvec.lru_lock);

		list_add(&page->lru, &cc->migratepages);
		cc->nr_migratepages++;
		continue;

isolate_fail_put:
		put_page(page);
	}
}

/*
 * This is a migrate-callback that "allocates" freepages by taking pages
 * from the isolated freelists in the block we are migrating to.  Here:
 * a free page of the same node, without reclaim.
 */
static struct page *compaction_alloc(struct page *migratepage,
				     unsigned long data)
{
	struct compact_control *cc = (struct compact_control *)data;

	(void)migratepage;
	return __alloc_pages_node(cc->nid, GFP_NOWAIT | __GFP_THISNODE);
}

/*
 * This is a migrate-callback that "frees" freepages back to the isolated
 * freelist.  All pages on the freelist are from the same zone, so there is
 * no special handling needed for NUMA.
 */
static void compaction_free(struct page *page, unsigned long data)
{
	(void)data;
	put_page(page);
}

/* Compact all zones within a node (/proc/sys/vm/compact_memory). */
unsigned long compact_node(int nid)
{
	struct compact_control cc = {
		.nid = nid,
		.mode = MIGRATE_SYNC_LIGHT,
	};
	unsigned int nr_succeeded = 0;
	int err;

	INIT_LIST_HEAD(&cc.migratepages);
	/* compact_zone(): the local per-CPU LRU batch first */
	lru_add_drain();
	isolate_migratepages_block(&cc, NODE_FIRST_PFN(nid),
				   NODE_FIRST_PFN(nid) + NODE_PAGES);
	if (!cc.nr_migratepages)
		return 0;
	err = migrate_pages(&cc.migratepages, compaction_alloc,
			    compaction_free, (unsigned long)&cc, cc.mode,
			    &nr_succeeded);
	if (err)
		putback_movable_pages(&cc.migratepages);
	return nr_succeeded;
}
