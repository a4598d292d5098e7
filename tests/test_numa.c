/*
 * Two NUMA nodes and the classic migration path (engine/mm/page_alloc.c,
 * engine/migrate/migrate.c, engine/mm/compaction.c, the anon_vma lifetime
 * of engine/mm/rmap.c): allocation by node, move_pages() from node to
 * node keeping contents and every mapping (a fork child's too), putback
 * when a page cannot move, compaction within a node, and an anon_vma
 * that lives exactly as long as its last VMA or reference.
 *
 * Everything runs on one thread, outside any schedule: nothing here may
 * wait on a lock.
 */
#include "harness.h"

#include <migrace/fixes.h>
#include <migrace/gup.h>
#include <migrace/migrate.h>
#include <migrace/rcu.h>
#include <migrace/rmap.h>

#include "machine.h"

#define A0 REGION_START
#define A1 (REGION_START + 1 * PAGE_SIZE)

/* move_pages(2) of @n pages from A0 to @node; the syscall's result. */
static int move_to(struct mm_struct *mm, int n, int node, int flags,
		   int *status)
{
	unsigned long pages[REGION_PAGES];
	int nodes[REGION_PAGES];

	for (int i = 0; i < n; i++) {
		pages[i] = A0 + ((unsigned long)i << PAGE_SHIFT);
		nodes[i] = node;
		status[i] = 0x5a5a;
	}
	return do_pages_move(mm, n, pages, nodes, status, flags);
}

/* @mm with A0 = { 0x10, 0x11, ... } and A1 = { 0x20, ... }, drained. */
static int two_pages(struct mm_struct *mm)
{
	if (!mm || store(mm, A0, 0, 0x10) || store(mm, A0, 1, 0x11) ||
	    store(mm, A1, 0, 0x20))
		return -1;
	lru_add_drain();
	return 0;
}

TEST(alloc_by_node)
{
	unsigned long free0, free1;
	struct page *p, *q;

	machine_reset(2);
	on_cpu(1);
	free0 = node_nr_free_pages(0);
	free1 = node_nr_free_pages(1);
	ASSERT_EQ(numa_node_id(), 1);
	p = alloc_page();		/* the CPU's own node */
	ASSERT_TRUE(p != NULL);
	ASSERT_EQ(page_to_nid(p), 1);
	ASSERT_EQ(node_nr_free_pages(1), free1 - 1);
	q = alloc_page_node(0);
	ASSERT_EQ(folio_nid(page_folio(q)), 0);
	ASSERT_EQ(node_nr_free_pages(0), free0 - 1);
	put_page(p);
	put_page(q);
	ASSERT_EQ(node_nr_free_pages(0), free0);
	ASSERT_EQ(node_nr_free_pages(1), free1);
	/* Device memory has no node and is never handed out here. */
	ASSERT_EQ(page_to_nid(pfn_to_page(DEVICE_FIRST_PFN)), NUMA_NO_NODE);

	/* __GFP_THISNODE: no fallback once node 0 is empty. */
	while ((p = __alloc_pages_node(0, __GFP_THISNODE)))
		ASSERT_EQ(page_to_nid(p), 0);
	ASSERT_EQ(node_nr_free_pages(0), 0);
	p = __alloc_pages_node(0, GFP_NOWAIT);	/* falls back */
	ASSERT_TRUE(p != NULL);
	ASSERT_EQ(page_to_nid(p), 1);
}

TEST(move_pages_keeps_contents_and_mapping)
{
	struct mm_struct *mm = boot(2);
	struct page *old0, *old1, *new0, *new1;
	unsigned long nfree;
	int status[2];
	u64 v;

	ASSERT_EQ(two_pages(mm), 0);
	old0 = page_at(mm, A0);
	old1 = page_at(mm, A1);
	ASSERT_EQ(page_to_nid(old0), 0);
	ASSERT_EQ(page_to_nid(old1), 0);
	nfree = nr_free_pages();

	ASSERT_EQ(move_to(mm, 2, 1, MPOL_MF_MOVE, status), 0);
	ASSERT_EQ(status[0], 1);
	ASSERT_EQ(status[1], 1);
	new0 = page_at(mm, A0);
	new1 = page_at(mm, A1);
	ASSERT_TRUE(new0 && new0 != old0);
	ASSERT_TRUE(new1 && new1 != old1);
	ASSERT_EQ(page_to_nid(new0), 1);
	ASSERT_EQ(page_to_nid(new1), 1);
	/* the old pages are free, the new ones mapped once and anon */
	ASSERT_TRUE(PageBuddy(old0) && PageBuddy(old1));
	ASSERT_EQ(nr_free_pages(), nfree);
	ASSERT_EQ(page_mapcount(new0), 1);
	ASSERT_TRUE(PageAnon(new0));
	ASSERT_EQ(page_anon_vma(new0), find_vma(mm, A0)->anon_vma);
	ASSERT_FALSE(PageLocked(new0));
	lru_add_drain();
	ASSERT_TRUE(PageLRU(new0));
	ASSERT_EQ(page_count(new0), 1);		/* the mapping's */

	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x10);
	ASSERT_EQ(load(mm, A0, 1, &v), 0);
	ASSERT_EQ(v, 0x11);
	ASSERT_EQ(load(mm, A1, 0, &v), 0);
	ASSERT_EQ(v, 0x20);
	/* still writable without a fault: the exclusive entry came back */
	ASSERT_TRUE(pte_write(pte_now(mm, A0)));

	/* Already there: nothing moves, the status says where it is. */
	ASSERT_EQ(move_to(mm, 1, 1, MPOL_MF_MOVE, status), 0);
	ASSERT_EQ(status[0], 1);
	ASSERT_EQ(page_at(mm, A0), new0);
	/* and back */
	ASSERT_EQ(move_to(mm, 1, 0, MPOL_MF_MOVE, status), 0);
	ASSERT_EQ(page_to_nid(page_at(mm, A0)), 0);
	ASSERT_EQ(load(mm, A0, 1, &v), 0);
	ASSERT_EQ(v, 0x11);
}

TEST(move_pages_statuses)
{
	struct mm_struct *mm = boot(2);
	unsigned long pages[1] = { A0 };
	int nodes[1] = { NR_NODES }, status[1];

	ASSERT_TRUE(mm != NULL);
	/* not populated: the hole of an anonymous VMA */
	ASSERT_EQ(move_to(mm, 1, 1, MPOL_MF_MOVE, status), 0);
	ASSERT_EQ(status[0], -EFAULT);
	/* no such node */
	ASSERT_EQ(do_pages_move(mm, 1, pages, nodes, status, MPOL_MF_MOVE),
		  -ENODEV);
	/* outside any VMA */
	pages[0] = REGION_START + REGION_PAGES * PAGE_SIZE;
	nodes[0] = 1;
	ASSERT_EQ(do_pages_move(mm, 1, pages, nodes, status, MPOL_MF_MOVE), 0);
	ASSERT_EQ(status[0], -EFAULT);
}

TEST(move_pages_shared_with_child)
{
	struct mm_struct *parent, *child;
	struct page *shared, *moved;
	int status[1];
	u64 v;

	ASSERT_EQ(boot_and_fork(&parent, &child, &shared), 0);
	ASSERT_EQ(page_mapcount(shared), 2);
	/* Mapped twice: only MPOL_MF_MOVE_ALL moves it. */
	ASSERT_EQ(move_to(child, 1, 1, MPOL_MF_MOVE, status), 0);
	ASSERT_EQ(status[0], -EACCES);
	ASSERT_EQ(page_at(parent, A0), shared);

	ASSERT_EQ(move_to(child, 1, 1, MPOL_MF_MOVE_ALL, status), 0);
	ASSERT_EQ(status[0], 1);
	moved = page_at(parent, A0);
	ASSERT_TRUE(moved && moved != shared);
	ASSERT_EQ(page_at(child, A0), moved);	/* found through the rmap */
	ASSERT_EQ(page_mapcount(moved), 2);
	ASSERT_TRUE(PageBuddy(shared));
	ASSERT_FALSE(pte_write(pte_now(parent, A0)));	/* still COW */
	ASSERT_EQ(load(child, A0, 1, &v), 0);
	ASSERT_EQ(v, 0x11);
	ASSERT_EQ(store(parent, A0, 0, 0x99), 0);	/* COW */
	ASSERT_EQ(load(child, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x10);
}

TEST(failed_migration_puts_page_back)
{
	struct mm_struct *mm = boot(2);
	struct page *page, *pinned;
	unsigned long nfree;
	int status[1], refs;
	u64 v;

	ASSERT_EQ(two_pages(mm), 0);
	page = page_at(mm, A0);
	/* An extra reference (a pin) makes every pass fail with -EAGAIN. */
	ASSERT_EQ(pin_user_pages_remote(mm, A0, 1, FOLL_WRITE, &pinned), 1);
	ASSERT_EQ(pinned, page);
	refs = page_count(page);
	nfree = nr_free_pages();

	/* not migrated: no status stored for it (the count is 6.1's) */
	ASSERT_TRUE(move_to(mm, 1, 1, MPOL_MF_MOVE, status) >= 0);
	ASSERT_EQ(status[0], 0x5a5a);
	ASSERT_EQ(page_at(mm, A0), page);	/* the migration ptes are gone */
	ASSERT_TRUE(pte_write(pte_now(mm, A0)));
	ASSERT_EQ(page_mapcount(page), 1);
	ASSERT_FALSE(PageLocked(page));
	ASSERT_EQ(nr_free_pages(), nfree);	/* the new page freed */
	lru_add_drain();
	ASSERT_TRUE(PageLRU(page));		/* back on the LRU */
	ASSERT_EQ(page_count(page), refs);
	ASSERT_EQ(load(mm, A0, 1, &v), 0);
	ASSERT_EQ(v, 0x11);

	/* Unpinned, it moves. */
	unpin_user_page(page);
	ASSERT_EQ(move_to(mm, 1, 1, MPOL_MF_MOVE, status), 0);
	ASSERT_EQ(page_to_nid(page_at(mm, A0)), 1);
	ASSERT_TRUE(PageBuddy(page));
}

TEST(migrate_pages_enomem_puts_back)
{
	struct mm_struct *mm = boot(2);
	struct page *page, *p;
	int status[1];

	ASSERT_EQ(two_pages(mm), 0);
	page = page_at(mm, A0);
	/* node 1 full: alloc_migration_target() fails, reclaim frees none */
	while ((p = __alloc_pages_node(1, __GFP_THISNODE)))
		;
	ASSERT_EQ(move_to(mm, 1, 1, MPOL_MF_MOVE, status), -ENOMEM);
	ASSERT_EQ(page_at(mm, A0), page);
	ASSERT_FALSE(PageLocked(page));
	lru_add_drain();
	ASSERT_TRUE(PageLRU(page));
}

TEST(compact_moves_within_node)
{
	struct mm_struct *mm = boot(2);
	struct page *old0, *new0;
	u64 v;

	ASSERT_EQ(two_pages(mm), 0);
	old0 = page_at(mm, A0);
	ASSERT_EQ(compact_node(1), 0);		/* nothing on node 1 */
	ASSERT_EQ(page_at(mm, A0), old0);
	ASSERT_EQ(compact_node(0), 2);
	new0 = page_at(mm, A0);
	ASSERT_TRUE(new0 != old0);
	ASSERT_EQ(page_to_nid(new0), 0);
	ASSERT_TRUE(PageBuddy(old0));
	ASSERT_EQ(load(mm, A0, 1, &v), 0);
	ASSERT_EQ(v, 0x11);
	ASSERT_EQ(load(mm, A1, 0, &v), 0);
	ASSERT_EQ(v, 0x20);
}

TEST(anon_vma_freed_after_last_vma_and_reference)
{
	struct mm_struct *mm = boot(2);
	struct anon_vma *av;
	struct page *page;

	ASSERT_EQ(two_pages(mm), 0);
	page = page_at(mm, A0);
	av = page_anon_vma(page);
	ASSERT_TRUE(av != NULL);
	/* A reference taken while the page is mapped. */
	ASSERT_EQ(page_get_anon_vma(page), av);
	/* Part of the VMA goes: the rest still uses the anon_vma. */
	ASSERT_EQ(do_munmap_syscall(mm, A0, PAGE_SIZE), 0);
	ASSERT_FALSE(kobj_freed(av));
	/* The last VMA goes: the reference keeps it. */
	ASSERT_EQ(do_munmap_syscall(mm, A1, (REGION_PAGES - 1) * PAGE_SIZE), 0);
	ASSERT_FALSE(kobj_freed(av));
	ASSERT_EQ(av->refcount, 1);
	/* Once the page is unmapped no new reference can be had from it. */
	ASSERT_EQ(page_get_anon_vma(page), NULL);
	put_anon_vma(av);
	ASSERT_TRUE(kobj_freed(av));
	/* SLAB_TYPESAFE_BY_RCU: readable until the grace period ends. */
	ASSERT_EQ(av->root, av);
	rcu_process_callbacks(true);
}

TEST(anon_vma_outlives_parent_while_child_maps)
{
	struct mm_struct *parent, *child;
	struct page *shared;
	struct anon_vma *av;

	ASSERT_EQ(boot_and_fork(&parent, &child, &shared), 0);
	av = page_anon_vma(shared);
	ASSERT_EQ(av, find_vma(parent, A0)->anon_vma);
	/* The child's VMA is chained to it: the parent's munmap keeps it. */
	ASSERT_EQ(do_munmap_syscall(parent, REGION_START,
				    REGION_PAGES * PAGE_SIZE), 0);
	ASSERT_FALSE(kobj_freed(av));
	ASSERT_EQ(page_mapcount(shared), 1);
	ASSERT_EQ(do_munmap_syscall(child, REGION_START,
				    REGION_PAGES * PAGE_SIZE), 0);
	ASSERT_TRUE(kobj_freed(av));
}

TEST_MAIN()
