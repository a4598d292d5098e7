// SPDX-License-Identifier: GPL-2.0
/*
 * mm/rmap.c: anon_vma chains, anon rmap accounting with
 * PG_anon_exclusive, the rmap walk, folio_referenced(), try_to_unmap()
 * and try_to_migrate().
 *
 * Fix switches here: young-dirty-entry (try_to_migrate_one());
 * anon-exclusive (__page_set_anon_rmap(), page_move_anon_rmap(): before
 * PG_anon_exclusive nothing marks a page exclusive, so every test of the
 * flag below sees a page that is not).
 */
#include <migrace/check.h>
#include <migrace/fixes.h>
#include <migrace/gup.h>
#include <migrace/swap.h>
#include <migrace/migrate.h>
#include <migrace/mm.h>
#include <migrace/mmu_notifier.h>
#include <migrace/rmap.h>
#include <migrace/tlb.h>

static struct anon_vma *anon_vma_alloc(void)
{
	struct anon_vma *av = kzalloc(sizeof(*av));

	av->root = av;
	av->rwsem.name = "anon_vma->rwsem";
	INIT_LIST_HEAD(&av->chain);
	return av;
}

static void get_anon_vma(struct anon_vma *av)
{
	__atomic_add_fetch(&av->refcount, 1, __ATOMIC_ACQ_REL);
}

static void anon_vma_free(struct anon_vma *av)
{
	/*
	 * Synchronize against folio_lock_anon_vma_read() such that
	 * we can safely hold the lock without the anon_vma getting
	 * freed.
	 */
	if (rwsem_is_locked(&av->root->rwsem)) {
		__down_write(&av->root->rwsem, "anon_vma_lock_write", __func__);
		__up_write(&av->root->rwsem, "anon_vma_unlock_write", __func__);
	}
	/* SLAB_TYPESAFE_BY_RCU: lockless readers may still look at it. */
	kfree_rcu_typesafe(av);
}

/* The last reference is gone: free it, then drop its hold on the root. */
static void __put_anon_vma(struct anon_vma *av)
{
	struct anon_vma *root = av->root;

	anon_vma_free(av);
	if (root != av &&
	    __atomic_sub_fetch(&root->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		anon_vma_free(root);
}

void put_anon_vma(struct anon_vma *av)
{
	if (kobj_freed(av)) {
		report_obj(av, RO_ANON_VMA);
		report_bug(NULL, 0,
			   "use-after-free: put_anon_vma() on a freed anon_vma");
	}
	if (__atomic_sub_fetch(&av->refcount, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	__put_anon_vma(av);
}

/* Called with the anon_vma root lock held for write. */
static void __anon_vma_chain_link(struct vm_area_struct *vma,
				  struct anon_vma *av)
{
	struct anon_vma_chain *avc = kzalloc(sizeof(*avc));

	avc->vma = vma;
	avc->anon_vma = av;
	list_add(&avc->same_vma, &vma->anon_vma_chain);
	list_add_tail(&avc->same_anon_vma, &av->chain);
	get_anon_vma(av);
}

static void anon_vma_chain_link(struct vm_area_struct *vma,
				struct anon_vma *av)
{
	__down_write(&av->root->rwsem, "anon_vma_lock_write", __func__);
	__anon_vma_chain_link(vma, av);
	__up_write(&av->root->rwsem, "anon_vma_unlock_write", __func__);
}

int anon_vma_prepare(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	struct anon_vma *av;
	bool used = false;

	if (READ_ONCE(vma->anon_vma))
		return 0;
	av = anon_vma_alloc();
	/* Linked before it is published, so no rmap walk can miss @vma. */
	__down_write(&av->rwsem, "anon_vma_lock_write", __func__);
	spin_lock(&mm->page_table_lock);
	if (likely(!vma->anon_vma)) {
		__anon_vma_chain_link(vma, av);
		WRITE_ONCE(vma->anon_vma, av);
		used = true;
	}
	spin_unlock(&mm->page_table_lock);
	__up_write(&av->rwsem, "anon_vma_unlock_write", __func__);
	if (!used)
		kfree(av);
	return 0;
}

int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	struct anon_vma_chain *pavc;

	list_for_each_entry(pavc, &src->anon_vma_chain, same_vma)
		anon_vma_chain_link(dst, pavc->anon_vma);
	dst->anon_vma = src->anon_vma;
	return 0;
}

int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma)
{
	struct anon_vma *av;

	if (!pvma->anon_vma)
		return 0;
	vma->anon_vma = NULL;
	anon_vma_clone(vma, pvma);
	/* The child's own anon_vma, for the pages it will COW. */
	av = anon_vma_alloc();
	av->root = pvma->anon_vma->root;
	get_anon_vma(av->root);
	vma->anon_vma = av;
	anon_vma_chain_link(vma, av);
	return 0;
}

void unlink_anon_vmas(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc, *next;

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *av = avc->anon_vma;
		struct anon_vma *root = av->root;

		__down_write(&root->rwsem, "anon_vma_lock_write", __func__);
		list_del_init(&avc->same_anon_vma);
		__up_write(&root->rwsem, "anon_vma_unlock_write", __func__);
		list_del_init(&avc->same_vma);
		kfree(avc);
		put_anon_vma(av);
	}
	vma->anon_vma = NULL;
}

/* ---- rmap accounting ---- */

static void __page_set_anon_rmap(struct page *page, struct vm_area_struct *vma,
				 unsigned long address, bool exclusive)
{
	struct anon_vma *anon_vma = READ_ONCE(vma->anon_vma);

	BUG_ON(!anon_vma);
	if (!PageAnon(page)) {
		/*
		 * If the page isn't exclusively mapped into this vma,
		 * we must use the _oldest_ possible anon_vma for the
		 * page mapping!
		 */
		if (!exclusive)
			anon_vma = anon_vma->root;
		WRITE_ONCE(page->mapping,
			   (void *)((unsigned long)anon_vma |
				    PAGE_MAPPING_ANON));
		page->index = linear_page_index(vma, address);
	}
	/* Before PG_anon_exclusive nothing remembered exclusivity. */
	if (exclusive && fix_enabled(FIX_ANON_EXCLUSIVE))
		SetPageAnonExclusive(page);
}

static bool mapcount_inc(struct page *page, const char *func)
{
	sched_point(EV_ATOMIC, "mapcount_inc", func, page, page_to_pfn(page), 0);
	return __atomic_add_fetch(&page->_mapcount, 1, __ATOMIC_ACQ_REL) == 0;
}

void page_add_new_anon_rmap(struct page *page, struct vm_area_struct *vma,
			    unsigned long address)
{
	sched_point(EV_ATOMIC, "page_add_new_anon_rmap", __func__, page,
		    page_to_pfn(page), 0);
	WRITE_ONCE(page->_mapcount, 0);
	SetPageSwapBacked(page);
	WRITE_ONCE(page->mapping, NULL);
	__page_set_anon_rmap(page, vma, address, true);
}

void page_add_anon_rmap(struct page *page, struct vm_area_struct *vma,
			unsigned long address, int flags)
{
	bool first = mapcount_inc(page, __func__);

	VM_BUG_ON_PAGE(!first && (flags & RMAP_EXCLUSIVE), page);
	VM_BUG_ON_PAGE(!first && PageAnonExclusive(page), page);
	__page_set_anon_rmap(page, vma, address, flags & RMAP_EXCLUSIVE);
}

void page_dup_rmap(struct page *page)
{
	mapcount_inc(page, __func__);
}

void page_remove_rmap(struct page *page, struct vm_area_struct *vma,
		      bool compound)
{
	int v;

	(void)vma, (void)compound;
	sched_point(EV_ATOMIC, "page_remove_rmap", __func__, page,
		    page_to_pfn(page), 0);
	v = __atomic_sub_fetch(&page->_mapcount, 1, __ATOMIC_ACQ_REL);
	if (v < -1) {
		report_page(page);
		report_bug(NULL, 0, "mapcount underflow on pfn %lu",
			   page_to_pfn(page));
	}
}

/**
 * page_try_share_anon_rmap - try marking an exclusive anonymous page possibly
 *			      shared to prepare for KSM or temporary unmapping
 * @page: the exclusive anonymous page to try marking possibly shared
 *
 * The caller needs to hold the PT lock and has to have the page table entry
 * cleared/invalidated+flushed, to properly sync against GUP-fast.
 *
 * Returns 0 if marking the page possibly shared succeeded. Returns -EBUSY
 * otherwise.
 */
int page_try_share_anon_rmap(struct page *page)
{
	VM_BUG_ON_PAGE(!PageAnon(page) || !PageAnonExclusive(page), page);

	/* See page_try_dup_anon_rmap(). */
	if (likely(!is_device_private_page(page) &&
		   unlikely(page_maybe_dma_pinned(page))))
		return -EBUSY;
	ClearPageAnonExclusive(page);
	return 0;
}

/**
 * page_try_dup_anon_rmap - try duplicating a mapping of an already mapped
 *			    anonymous page
 *
 * Duplicating the mapping can only fail if the page may be pinned; device
 * private pages cannot get pinned and consequently this function cannot fail.
 *
 * If duplicating the mapping succeeds, the page has to be mapped R/O into
 * the parent and the child. It must *not* get mapped writable after this call.
 *
 * Returns 0 if duplicating the mapping succeeded. Returns -EBUSY otherwise.
 */
int page_try_dup_anon_rmap(struct page *page, bool compound,
			   struct vm_area_struct *src_vma)
{
	(void)compound;
	VM_BUG_ON_PAGE(!PageAnon(page), page);

	/*
	 * No need to check+clear for already shared pages, including KSM
	 * pages.
	 */
	if (!PageAnonExclusive(page))
		goto dup;
	/*
	 * If this page may have been pinned by the parent process,
	 * don't allow to duplicate the mapping but instead require to e.g.,
	 * copy the page immediately for the child so that we'll always
	 * guarantee the pinned page won't be randomly replaced in the
	 * future on write faults.
	 */
	if (likely(!is_device_private_page(page) &&
		   unlikely(page_needs_cow_for_dma(src_vma, page))))
		return -EBUSY;
	ClearPageAnonExclusive(page);
	/*
	 * It's okay to share the anon page between both processes, mapping
	 * the page R/O into both processes.
	 */
dup:
	page_dup_rmap(page);
	return 0;
}

void page_move_anon_rmap(struct page *page, struct vm_area_struct *vma)
{
	WRITE_ONCE(page->mapping, (void *)((unsigned long)vma->anon_vma |
					   PAGE_MAPPING_ANON));
	if (fix_enabled(FIX_ANON_EXCLUSIVE))
		SetPageAnonExclusive(page);
}

/* ---- rmap walk ---- */

/*
 * Getting a lock on a stable anon_vma from a page off the LRU is tricky!
 *
 * Since there is no serialization what so ever against page_remove_rmap()
 * the best this function can do is return a refcount increased anon_vma
 * that might have been relevant to this page.
 */
struct anon_vma *folio_get_anon_vma(struct folio *folio)
{
	struct anon_vma *anon_vma = NULL;
	unsigned long anon_mapping;
	int old;

	rcu_read_lock();
	anon_mapping = (unsigned long)READ_ONCE(folio->page.mapping);
	if ((anon_mapping & PAGE_MAPPING_ANON) != PAGE_MAPPING_ANON)
		goto out;
	if (!folio_mapped(folio))
		goto out;

	anon_vma = (struct anon_vma *)(anon_mapping - PAGE_MAPPING_ANON);
	old = __atomic_load_n(&anon_vma->refcount, __ATOMIC_ACQUIRE);
	do {
		if (!old) {	/* atomic_inc_not_zero() failed */
			anon_vma = NULL;
			goto out;
		}
	} while (!__atomic_compare_exchange_n(&anon_vma->refcount, &old,
					      old + 1, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));

	/*
	 * If this folio is still mapped, then its anon_vma cannot have been
	 * freed.  But if it has been unmapped, we have no security against the
	 * anon_vma structure being freed and reused (for another anon_vma:
	 * SLAB_TYPESAFE_BY_RCU guarantees that - so the atomic_inc_not_zero()
	 * above cannot corrupt).
	 */
	if (!folio_mapped(folio)) {
		rcu_read_unlock();
		put_anon_vma(anon_vma);
		return NULL;
	}
out:
	rcu_read_unlock();
	return anon_vma;
}

/*
 * Similar to folio_get_anon_vma() except it locks the anon_vma.
 *
 * Its a little more complex as it tries to keep the fast path to a single
 * atomic op -- the trylock. If we fail the trylock, we fall back to getting a
 * reference like with folio_get_anon_vma() and then block on the mutex
 * on !rwc->try_lock case.
 */
struct anon_vma *folio_lock_anon_vma_read(struct folio *folio,
					  struct rmap_walk_control *rwc)
{
	struct anon_vma *anon_vma = NULL, *root_anon_vma;
	unsigned long anon_mapping;

	rcu_read_lock();
	anon_mapping = (unsigned long)READ_ONCE(folio->page.mapping);
	if ((anon_mapping & PAGE_MAPPING_ANON) != PAGE_MAPPING_ANON)
		goto out;
	if (!folio_mapped(folio))
		goto out;

	anon_vma = (struct anon_vma *)(anon_mapping - PAGE_MAPPING_ANON);
	root_anon_vma = READ_ONCE(anon_vma->root);
	if (__down_read_trylock(&root_anon_vma->rwsem, "anon_vma_trylock_read",
				__func__)) {
		/*
		 * If the folio is still mapped, then this anon_vma is still
		 * its anon_vma, and holding the mutex ensures that it will
		 * not go away, see anon_vma_free().
		 */
		if (!folio_mapped(folio)) {
			__up_read(&root_anon_vma->rwsem, "anon_vma_unlock_read",
				  __func__);
			anon_vma = NULL;
		}
		goto out;
	}

	if (rwc && rwc->try_lock) {
		anon_vma = NULL;
		rwc->contended = true;
		goto out;
	}

	/* trylock failed, we got to sleep */
	{
		int old = __atomic_load_n(&anon_vma->refcount,
					  __ATOMIC_ACQUIRE);

		do {
			if (!old) {	/* atomic_inc_not_zero() failed */
				anon_vma = NULL;
				goto out;
			}
		} while (!__atomic_compare_exchange_n(&anon_vma->refcount,
						      &old, old + 1, false,
						      __ATOMIC_ACQ_REL,
						      __ATOMIC_ACQUIRE));
	}

	if (!folio_mapped(folio)) {
		rcu_read_unlock();
		put_anon_vma(anon_vma);
		return NULL;
	}

	/* we pinned the anon_vma, its safe to sleep */
	rcu_read_unlock();
	__down_read(&anon_vma->root->rwsem, "anon_vma_lock_read", __func__);

	if (__atomic_sub_fetch(&anon_vma->refcount, 1, __ATOMIC_ACQ_REL) == 0) {
		/*
		 * Oops, we held the last refcount, release the lock
		 * and bail -- can't simply use put_anon_vma() because
		 * we'll deadlock on the anon_vma_lock_write() recursion.
		 */
		__up_read(&anon_vma->root->rwsem, "anon_vma_unlock_read",
			  __func__);
		__put_anon_vma(anon_vma);
		anon_vma = NULL;
	}
	return anon_vma;

out:
	rcu_read_unlock();
	return anon_vma;
}

static void __rmap_walk(struct folio *folio, struct rmap_walk_control *rwc,
			bool locked)
{
	struct page *page = &folio->page;
	struct anon_vma *av;
	struct anon_vma_chain *avc;

	if (!locked && rwc->anon_lock) {
		/* It checked that the folio is mapped: @av is alive. */
		av = rwc->anon_lock(folio, rwc);
		if (!av)
			return;
	} else {
		/*
		 * Users without mmap_lock are required to take a reference
		 * count to prevent the anon_vma disappearing.
		 */
		av = page_anon_vma(page);
		if (!av)
			return;
		if (kobj_freed(av)) {
			report_page(page);
			report_obj(av, RO_ANON_VMA);
			report_bug(NULL, 0,
				   "use-after-free: rmap walk of pfn %lu reached a freed anon_vma",
				   page_to_pfn(page));
		}
		if (!locked)
			__down_read(&av->root->rwsem, "anon_vma_lock_read",
				    __func__);
	}
	list_for_each_entry(avc, &av->chain, same_anon_vma) {
		struct vm_area_struct *vma = avc->vma;
		unsigned long address = vma->vm_start +
			((page->index - vma->vm_pgoff) << PAGE_SHIFT);

		if (address < vma->vm_start || address >= vma->vm_end)
			continue;
		if (!rwc->rmap_one(folio, vma, address, rwc->arg))
			break;
		if (rwc->done && rwc->done(folio))
			break;
	}
	if (!locked)
		__up_read(&av->root->rwsem, "anon_vma_unlock_read", __func__);
}

void rmap_walk(struct folio *folio, struct rmap_walk_control *rwc)
{
	__rmap_walk(folio, rwc, false);
}

void rmap_walk_locked(struct folio *folio, struct rmap_walk_control *rwc)
{
	__rmap_walk(folio, rwc, true);
}

/*
 * page_vma_mapped_walk() for one small page: map and lock the pte at
 * @address if its table exists.
 */
static pte_t *pvmw_map_lock(struct vm_area_struct *vma, unsigned long address,
			    spinlock_t **ptl)
{
	pmd_t *pmd = pmd_offset(pgd_offset(vma->vm_mm, address), address);

	if (!pmd || pmd_none(pmdp_get_lockless(pmd)))
		return NULL;
	return pte_offset_map_lock(vma->vm_mm, pmd, address, ptl);
}

static bool try_to_migrate_one(struct folio *folio, struct vm_area_struct *vma,
			       unsigned long address, void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *subpage = &folio->page;
	unsigned long pfn = page_to_pfn(subpage);
	struct mmu_notifier_range range;
	bool anon_exclusive, ret = true;
	spinlock_t *ptl;
	pte_t *ptep, pteval, swp_pte;
	swp_entry_t entry;

	(void)arg;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma, mm, address,
				address + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	ptep = pvmw_map_lock(vma, address, &ptl);
	if (!ptep)
		goto out;
	pteval = ptep_get(ptep);
	if (pte_present(pteval) ? pte_pfn(pteval) != pfn :
	    !(is_swap_pte(pteval) &&
	      is_device_private_entry(pte_to_swp_entry(pteval)) &&
	      swp_offset(pte_to_swp_entry(pteval)) == pfn))
		goto unlock;

	anon_exclusive = folio_test_anon(folio) && PageAnonExclusive(subpage);
	/* Nuke the page table entry. */
	flush_cache_page(vma, address, pfn);
	pteval = ptep_clear_flush(vma, address, ptep);
	/* Set the dirty flag on the folio now the pte is gone. */
	if (pte_present(pteval) && pte_dirty(pteval))
		folio_mark_dirty(folio);

	/* A device-coherent page has a present pte: the common case below. */
	if (is_device_private_page(subpage)) {
		if (anon_exclusive)
			BUG_ON(page_try_share_anon_rmap(subpage));
		entry = pte_to_swp_entry(pteval);
		if (is_writable_device_private_entry(entry))
			entry = make_writable_migration_entry(pfn);
		else if (anon_exclusive)
			entry = make_readable_exclusive_migration_entry(pfn);
		else
			entry = make_readable_migration_entry(pfn);
		swp_pte = swp_entry_to_pte(entry);
		if (pte_swp_soft_dirty(pteval))
			swp_pte = pte_swp_mksoft_dirty(swp_pte);
		if (pte_swp_uffd_wp(pteval))
			swp_pte = pte_swp_mkuffd_wp(swp_pte);
		set_pte_at(mm, address, ptep, swp_pte);
	} else {
		if (fix_enabled(FIX_ANON_EXCLUSIVE))
			VM_BUG_ON_PAGE(pte_write(pteval) &&
				       folio_test_anon(folio) && !anon_exclusive,
				       subpage);
		/* See page_try_share_anon_rmap(): clear PTE first. */
		if (anon_exclusive && page_try_share_anon_rmap(subpage)) {
			set_pte_at(mm, address, ptep, pteval);
			ret = false;
			goto unlock;
		}
		if (pte_write(pteval))
			entry = make_writable_migration_entry(pfn);
		else if (anon_exclusive)
			entry = make_readable_exclusive_migration_entry(pfn);
		else
			entry = make_readable_migration_entry(pfn);
		if (fix_enabled(FIX_YOUNG_DIRTY_ENTRY)) {
			if (pte_young(pteval))
				entry = make_migration_entry_young(entry);
			if (pte_dirty(pteval))
				entry = make_migration_entry_dirty(entry);
		}
		swp_pte = swp_entry_to_pte(entry);
		if (pte_soft_dirty(pteval))
			swp_pte = pte_swp_mksoft_dirty(swp_pte);
		if (pte_uffd_wp(pteval))
			swp_pte = pte_swp_mkuffd_wp(swp_pte);
		set_pte_at(mm, address, ptep, swp_pte);
	}
	page_remove_rmap(subpage, vma, false);
	folio_put(folio);
unlock:
	pte_unmap_unlock(ptep, ptl);
out:
	mmu_notifier_invalidate_range_end(&range);
	return ret;
}

void try_to_migrate(struct folio *folio, int flags)
{
	struct rmap_walk_control rwc = {
		.rmap_one = try_to_migrate_one,
		.arg = NULL,
	};

	if (flags & TTU_RMAP_LOCKED)
		rmap_walk_locked(folio, &rwc);
	else
		rmap_walk(folio, &rwc);
}

/* ---- reclaim: folio_referenced() and try_to_unmap() ---- */

static int page_not_mapped(struct folio *folio)
{
	return !folio_mapped(folio);
}

/* x86: clearing the accessed bit needs no TLB flush. */
static bool ptep_clear_flush_young(struct vm_area_struct *vma,
				   unsigned long address, pte_t *ptep)
{
	for (;;) {
		pte_t pte = ptep_get(ptep);

		if (!pte_young(pte))
			return false;
		if (__ptep_cmpxchg(ptep, pte, pte_mkold(pte), address,
				   "ptep_test_and_clear_young", __func__))
			return true;
	}
}

struct folio_referenced_arg {
	int mapcount;
	int referenced;
	unsigned long vm_flags;
};

static bool folio_referenced_one(struct folio *folio,
				 struct vm_area_struct *vma,
				 unsigned long address, void *arg)
{
	struct folio_referenced_arg *pra = arg;
	unsigned long pfn = page_to_pfn(&folio->page);
	int referenced = 0;
	spinlock_t *ptl;
	pte_t *ptep;

	ptep = pvmw_map_lock(vma, address, &ptl);
	if (!ptep)
		return true;
	if (pte_present(ptep_get(ptep)) && pte_pfn(ptep_get(ptep)) == pfn) {
		if (ptep_clear_flush_young(vma, address, ptep))
			referenced++;
		pra->mapcount--;
	}
	pte_unmap_unlock(ptep, ptl);

	if (referenced) {
		pra->referenced++;
		pra->vm_flags |= READ_ONCE(vma->vm_flags);
	}
	if (!pra->mapcount)
		return false; /* To break the loop */
	return true;
}

/**
 * folio_referenced() - Test if the folio was referenced.
 * @folio: The folio to test.
 * @is_locked: Caller holds lock on the folio.
 * @vm_flags: A combination of all the vma->vm_flags which referenced the folio.
 *
 * Quick test_and_clear_referenced for all mappings of a folio,
 *
 * Return: The number of mappings which referenced the folio. Return -1 if
 * the function bailed out due to rmap lock contention.
 */
int folio_referenced(struct folio *folio, int is_locked,
		     unsigned long *vm_flags)
{
	struct folio_referenced_arg pra = {
		.mapcount = page_mapcount(&folio->page),
	};
	struct rmap_walk_control rwc = {
		.rmap_one = folio_referenced_one,
		.arg = (void *)&pra,
		.anon_lock = folio_lock_anon_vma_read,
		.try_lock = true,
	};

	(void)is_locked;	/* anon folios are walked unlocked */
	*vm_flags = 0;
	if (!pra.mapcount)
		return 0;
	if (!READ_ONCE(folio->page.mapping))
		return 0;
	rmap_walk(folio, &rwc);
	*vm_flags = pra.vm_flags;
	return rwc.contended ? -1 : pra.referenced;
}

/*
 * @arg: enum ttu_flags will be passed to this argument
 */
static bool try_to_unmap_one(struct folio *folio, struct vm_area_struct *vma,
			     unsigned long address, void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *subpage = &folio->page;
	unsigned long pfn = page_to_pfn(subpage);
	struct mmu_notifier_range range;
	bool anon_exclusive, ret = true;
	spinlock_t *ptl;
	pte_t *ptep, pteval, swp_pte;
	swp_entry_t entry;

	(void)arg;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma, mm, address,
				address + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	ptep = pvmw_map_lock(vma, address, &ptl);
	if (!ptep)
		goto out;
	pteval = ptep_get(ptep);
	if (!pte_present(pteval) || pte_pfn(pteval) != pfn)
		goto unlock;

	anon_exclusive = folio_test_anon(folio) && PageAnonExclusive(subpage);

	/*
	 * Nuke the page table entry.  (Linux defers the flush with
	 * TTU_BATCH_FLUSH when other CPUs may cache the entry; here the
	 * flush is immediate.)
	 */
	flush_cache_page(vma, address, pfn);
	pteval = ptep_clear_flush(vma, address, ptep);

	/* Set the dirty flag on the folio now the pte is gone. */
	if (pte_dirty(pteval))
		folio_mark_dirty(folio);

	entry.val = page_private(subpage);
	/*
	 * Store the swap location in the pte.
	 * See handle_pte_fault() ...
	 */
	if (unlikely(folio_test_swapbacked(folio) !=
		     folio_test_swapcache(folio))) {
		WARN_ON_ONCE(1);
		ret = false;
		goto unlock;
	}

	/* MADV_FREE page check */
	if (!folio_test_swapbacked(folio)) {
		int ref_count, map_count;

		ref_count = folio_ref_count(folio);
		map_count = page_mapcount(subpage);

		/*
		 * The only page refs must be one from isolation
		 * plus the rmap(s) (dropped by discard:).
		 */
		if (ref_count == 1 + map_count && !folio_test_dirty(folio)) {
			dec_mm_counter(mm);
			goto discard;
		}

		/*
		 * If the folio was redirtied, it cannot be
		 * discarded. Remap the page to page table.
		 */
		set_pte_at(mm, address, ptep, pteval);
		SetPageSwapBacked(subpage);
		ret = false;
		goto unlock;
	}

	if (swap_duplicate(entry) < 0) {
		set_pte_at(mm, address, ptep, pteval);
		ret = false;
		goto unlock;
	}

	/* See page_try_share_anon_rmap(): clear PTE first. */
	if (anon_exclusive && page_try_share_anon_rmap(subpage)) {
		swap_free(entry);
		set_pte_at(mm, address, ptep, pteval);
		ret = false;
		goto unlock;
	}
	dec_mm_counter(mm);
	swp_pte = swp_entry_to_pte(entry);
	if (anon_exclusive)
		swp_pte = pte_swp_mkexclusive(swp_pte);
	if (pte_soft_dirty(pteval))
		swp_pte = pte_swp_mksoft_dirty(swp_pte);
	if (pte_uffd_wp(pteval))
		swp_pte = pte_swp_mkuffd_wp(swp_pte);
	set_pte_at(mm, address, ptep, swp_pte);
discard:
	page_remove_rmap(subpage, vma, false);
	folio_put(folio);
unlock:
	pte_unmap_unlock(ptep, ptl);
out:
	mmu_notifier_invalidate_range_end(&range);
	return ret;
}

/**
 * try_to_unmap - Try to remove all page table mappings to a folio.
 * @folio: The folio to unmap.
 * @flags: action and flags
 *
 * Tries to remove all the page table entries which are mapping this
 * folio.  It is the caller's responsibility to check if the folio is
 * still mapped if needed (use TTU_SYNC to prevent accounting races).
 *
 * Context: Caller must hold the folio lock.
 */
bool try_to_unmap(struct folio *folio, int flags)
{
	struct rmap_walk_control rwc = {
		.rmap_one = try_to_unmap_one,
		.arg = (void *)(long)flags,
		.done = page_not_mapped,
		.anon_lock = folio_lock_anon_vma_read,
	};

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	rmap_walk(folio, &rwc);
	return !folio_mapped(folio);
}

/* ---- device-exclusive access (Linux 6.0) ---- */

struct make_exclusive_args {
	struct mm_struct *mm;
	unsigned long address;
	void *owner;
	bool valid;
};

static bool page_make_device_exclusive_one(struct folio *folio,
		struct vm_area_struct *vma, unsigned long address, void *priv)
{
	struct mm_struct *mm = vma->vm_mm;
	struct make_exclusive_args *args = priv;
	unsigned long pfn = page_to_pfn(&folio->page);
	struct page *subpage = &folio->page;
	struct mmu_notifier_range range;
	bool ret = true;
	spinlock_t *ptl;
	pte_t *ptep, pteval, swp_pte;
	swp_entry_t entry;

	mmu_notifier_range_init_owner(&range, MMU_NOTIFY_EXCLUSIVE, 0, vma,
				      vma->vm_mm, address,
				      min(vma->vm_end, address + PAGE_SIZE),
				      args->owner);
	mmu_notifier_invalidate_range_start(&range);

	/* page_vma_mapped_walk() of one small page */
	ptep = pvmw_map_lock(vma, address, &ptl);
	if (!ptep)
		goto out;
	pteval = ptep_get(ptep);
	if (!pte_present(pteval)) {
		/* 6.0's walk also matches device entries of the pfn */
		if (is_swap_pte(pteval) &&
		    is_device_exclusive_entry(pte_to_swp_entry(pteval)) &&
		    swp_offset_pfn(pte_to_swp_entry(pteval)) == pfn)
			ret = false;
		goto unlock;
	}
	if (pte_pfn(pteval) != pfn)
		goto unlock;

	/* Nuke the page table entry. */
	flush_cache_page(vma, address, pfn);
	pteval = ptep_clear_flush(vma, address, ptep);

	/* Move the dirty bit to the page. Now the pte is gone. */
	if (pte_dirty(pteval))
		folio_mark_dirty(folio);

	/*
	 * Check that our target page is still mapped at the expected
	 * address.
	 */
	if (args->mm == mm && args->address == address && pte_write(pteval))
		args->valid = true;

	/*
	 * Store the pfn of the page in a special device-exclusive pte:
	 * do_swap_page() restores it on a CPU access.
	 */
	if (pte_write(pteval))
		entry = make_writable_device_exclusive_entry(
						page_to_pfn(subpage));
	else
		entry = make_readable_device_exclusive_entry(
						page_to_pfn(subpage));
	swp_pte = swp_entry_to_pte(entry);
	if (pte_soft_dirty(pteval))
		swp_pte = pte_swp_mksoft_dirty(swp_pte);
	if (pte_uffd_wp(pteval))
		swp_pte = pte_swp_mkuffd_wp(swp_pte);
	set_pte_at(mm, address, ptep, swp_pte);

	/*
	 * There is a reference on the page for the swap entry which has
	 * been removed, so shouldn't take another.
	 */
	page_remove_rmap(subpage, vma, false);
unlock:
	pte_unmap_unlock(ptep, ptl);
out:
	mmu_notifier_invalidate_range_end(&range);
	return ret;
}

/*
 * Replace every mapping of @folio by a device-exclusive entry.  True if
 * the mapping at @address of @mm was writable and no mapping is left.
 */
static bool folio_make_device_exclusive(struct folio *folio,
		struct mm_struct *mm, unsigned long address, void *owner)
{
	struct make_exclusive_args args = {
		.mm = mm,
		.address = address,
		.owner = owner,
		.valid = false,
	};
	struct rmap_walk_control rwc = {
		.rmap_one = page_make_device_exclusive_one,
		.done = page_not_mapped,
		.anon_lock = folio_lock_anon_vma_read,
		.arg = &args,
	};

	/*
	 * Restrict to anonymous folios for now to avoid potential writeback
	 * issues.
	 */
	if (!folio_test_anon(folio))
		return false;

	rmap_walk(folio, &rwc);

	return args.valid && !folio_mapcount(folio);
}

/**
 * make_device_exclusive_range() - Mark a range for exclusive use by a device
 * @mm: mm_struct of associated target process
 * @start: start of the region to mark for exclusive device access
 * @end: end address of region
 * @pages: returns the pages which were successfully marked for exclusive access
 * @owner: passed to MMU_NOTIFY_EXCLUSIVE range notifier to allow filtering
 *
 * Returns: number of pages found in the range by GUP. A page is marked for
 * exclusive access only if the page pointer is non-NULL.
 *
 * This function finds ptes mapping page(s) to the given address range, locks
 * them and replaces mappings with special swap entries preventing userspace
 * CPU access. On fault these entries are replaced with the original mapping
 * after calling MMU notifiers.
 *
 * A driver using this to program access from a device must use a mmu
 * notifier critical section to hold a device specific lock during
 * programming. Once programming is complete it should drop the page lock
 * and reference after which point CPU access to the page will revoke the
 * exclusive access.  The caller holds the mmap lock.
 */
int make_device_exclusive_range(struct mm_struct *mm, unsigned long start,
				unsigned long end, struct page **pages,
				void *owner)
{
	long npages = (end - start) >> PAGE_SHIFT;
	long i;

	npages = __get_user_pages_locked(mm, start, npages,
					 FOLL_GET | FOLL_WRITE, pages);
	if (npages < 0)
		return npages;

	for (i = 0; i < npages; i++, start += PAGE_SIZE) {
		struct folio *folio = page_folio(pages[i]);

		if (!folio_trylock(folio)) {
			folio_put(folio);
			pages[i] = NULL;
			continue;
		}

		if (!folio_make_device_exclusive(folio, mm, start, owner)) {
			folio_unlock(folio);
			folio_put(folio);
			pages[i] = NULL;
		}
	}

	return npages;
}
