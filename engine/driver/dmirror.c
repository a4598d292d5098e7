// SPDX-License-Identifier: GPL-2.0
/*
 * The dmirror driver (after lib/test_hmm.c).  Its device page table is
 * kept coherent by an MMU interval notifier that ignores the driver's own
 * migrations (MMU_NOTIFY_MIGRATE with its owner); when it maps pages after
 * a migration it checks the notifier sequence, as the HMM documentation
 * asks, so a racing invalidation is never lost.
 *
 * The driver is an arbitrary legal user of the migrate_vma /
 * migrate_device API: it checks what the core hands it against the
 * documented contract (oracle 6), and the choices the API leaves it come
 * from the program.  The device has device-private memory (the CPU
 * faults on its entries and migrate_to_ram() brings the page back) and
 * device-coherent memory (the CPU maps it with present ptes), as
 * test_hmm's two kinds of device; which one a migration uses is also the
 * program's choice.  Unbind releases the device as test_hmm's remove
 * does: evict every device page with migrate_device_range(), then
 * memunmap_pages(); the device is gone for the rest of the program.
 *
 * Fix switches here: device-private-fault-ref (dmirror_devmem_fault());
 * dmirror-write-own-private (dmirror_do_fault(), proposed: test_hmm WARNs
 * when a device write meets a read-only device-private page of its own);
 * dmirror-fault-own-migration (dmirror_own_migration() and
 * dmirror_range_fault(), proposed: a device fault maps a page the
 * driver's own migration has already copied).
 */
#include <migrace/check.h>
#include <migrace/dmirror.h>
#include <migrace/fixes.h>
#include <migrace/gup.h>
#include <migrace/hmm.h>
#include <migrace/migrate.h>
#include <migrace/mm.h>
#include <migrace/rmap.h>

#define MIGRATE_CHUNK 8

static unsigned long dpt_index(unsigned long addr)
{
	return (addr - TASK_UNMAPPED_BASE) >> PAGE_SHIFT;
}

static void mutex_lock(struct rw_semaphore *m)
{
	__down_write(m, "mutex_lock", __func__);
}

static void mutex_unlock(struct rw_semaphore *m)
{
	__up_write(m, "mutex_unlock", __func__);
}

/*
 * A change of the device page table by the driver's own migrations,
 * whose invalidations it skips (see dmirror_interval_invalidate()): a
 * device fault that raced it must not map its older snapshot.
 */
static void dpt_store(struct dmirror *dmirror, unsigned long addr,
		      unsigned long entry)
{
	unsigned long i = dpt_index(addr);

	/* the range loops below stop at the highest entry ever stored */
	if (entry && i >= READ_ONCE(dmirror->pt_used))
		WRITE_ONCE(dmirror->pt_used, i + 1);
	/* xa_store(): the device's lockless lookups see all or nothing */
	WRITE_ONCE(dmirror->pt[i], entry);
}

static void dpt_set(struct dmirror *dmirror, unsigned long addr,
		    unsigned long entry)
{
	dpt_store(dmirror, addr, entry);
	dmirror->own_seq++;
}

/*
 * The pages start, start + PAGE_SIZE, ... below end that the device page
 * table has (it covers the user window only), as [*start, *end).
 */
static void dpt_clamp(struct dmirror *dmirror, unsigned long *start,
		      unsigned long *end)
{
	unsigned long used = TASK_UNMAPPED_BASE +
			     READ_ONCE(dmirror->pt_used) * PAGE_SIZE;

	if (*start < TASK_UNMAPPED_BASE)
		*start += (TASK_UNMAPPED_BASE - *start + PAGE_SIZE - 1) &
			  ~(PAGE_SIZE - 1);
	if (*end > used)
		*end = used;
}

static void dmirror_do_update(struct dmirror *dmirror, unsigned long start,
			      unsigned long end)
{
	dpt_clamp(dmirror, &start, &end);
	/* xa_for_each_range() + xa_erase(): the present entries only */
	for (unsigned long a = start; a < end; a += PAGE_SIZE)
		if (dmirror->pt[dpt_index(a)])
			WRITE_ONCE(dmirror->pt[dpt_index(a)], 0);
}

/* An entry that does not map a device page this mirror migrated. */
static bool dpt_foreign(struct dmirror *dmirror, unsigned long entry)
{
	struct page *page;

	if (!entry)
		return false;
	page = pfn_to_page(dpt_pfn(entry));
	return !is_zone_device_page(page) ||
	       READ_ONCE(page->zone_device_data) != dmirror;
}

/*
 * Lockless lookup first, as xa_load() under RCU allows: the mutex only
 * when there is something to drop.
 */
static bool dmirror_has_foreign(struct dmirror *dmirror, unsigned long start,
				unsigned long end)
{
	dpt_clamp(dmirror, &start, &end);
	for (unsigned long a = start; a < end; a += PAGE_SIZE)
		if (dpt_foreign(dmirror, READ_ONCE(dmirror->pt[dpt_index(a)])))
			return true;
	return false;
}

static void dmirror_drop_foreign(struct dmirror *dmirror, unsigned long start,
				 unsigned long end)
{
	dpt_clamp(dmirror, &start, &end);
	for (unsigned long a = start; a < end; a += PAGE_SIZE) {
		unsigned long *e;
		struct page *page;

		e = &dmirror->pt[dpt_index(a)];
		if (!dpt_foreign(dmirror, *e))
			continue;
		page = pfn_to_page(dpt_pfn(*e));
		WRITE_ONCE(*e, 0);
		/*
		 * Another mirror's migration moves this device page: a
		 * fault that saw it must not map it.  A system page under
		 * our own migration is remapped or restored by it.
		 */
		if (is_zone_device_page(page))
			dmirror->own_seq++;
	}
}

static bool dmirror_interval_invalidate(struct mmu_interval_notifier *mni,
					const struct mmu_notifier_range *range,
					unsigned long cur_seq)
{
	struct dmirror *dmirror = container_of(mni, struct dmirror, notifier);

	/*
	 * test_hmm ignores the invalidations of its device's own
	 * migrations: the migration updates the device page table.  It
	 * does so only for the device pages this mirror migrated, so the
	 * other entries of the range go now (a system page a device fault
	 * mapped, a device page another mirror of the device migrated and
	 * this one found through a fork); the sequence is left alone, so
	 * this mirror's own migration still maps what it migrated.
	 */
	if (range->event == MMU_NOTIFY_MIGRATE &&
	    range->owner == dmirror->mdevice) {
		if (!dmirror_has_foreign(dmirror, range->start, range->end))
			return true;
		mutex_lock(&dmirror->mutex);
		dmirror_drop_foreign(dmirror, range->start, range->end);
		mutex_unlock(&dmirror->mutex);
		return true;
	}
	/*
	 * Nor its own requests for exclusive access (test_hmm passes no
	 * owner; nouveau passes its device, as this driver does, so that
	 * its sequence check below does not fail on its own invalidation).
	 */
	if (range->event == MMU_NOTIFY_EXCLUSIVE &&
	    range->owner == dmirror->mdevice)
		return true;

	mutex_lock(&dmirror->mutex);
	mmu_interval_set_seq(mni, cur_seq);
	dmirror_do_update(dmirror, range->start, range->end);
	mutex_unlock(&dmirror->mutex);
	return true;
}

static const struct mmu_interval_notifier_ops dmirror_min_ops = {
	.invalidate = dmirror_interval_invalidate,
};

/* ---- device memory ---- */

static struct page *dmirror_devmem_alloc_page(struct dmirror_device *mdevice,
					      bool coherent)
{
	unsigned long *free_pfns = coherent ? mdevice->cfree_pfns :
					      mdevice->free_pfns;
	int *nfree = coherent ? &mdevice->ncfree : &mdevice->nfree;
	struct page *dpage = NULL;

	spin_lock(&mdevice->lock);
	/* Being released: the memory is going away, allocate nothing. */
	if (*nfree && !mdevice->removing)
		dpage = pfn_to_page(free_pfns[--*nfree]);
	spin_unlock(&mdevice->lock);
	if (dpage)
		zone_device_page_init(dpage);
	return dpage;
}

/* The device a page belongs to, from whichever of its pgmaps it is in. */
static struct dmirror_device *dmirror_page_to_device(struct page *page)
{
	if (is_device_coherent_pgmap(page->pgmap))
		return container_of(page->pgmap, struct dmirror_device,
				    cpagemap);
	return container_of(page->pgmap, struct dmirror_device, pagemap);
}

static void dmirror_devmem_free(struct page *page)
{
	struct dmirror_device *mdevice = dmirror_page_to_device(page);
	bool coherent = is_device_coherent_pgmap(page->pgmap);

	WRITE_ONCE(page->zone_device_data, NULL);
	__atomic_store_n(&page->flags, BIT(PG_buddy), __ATOMIC_RELEASE);
	for (int s = 0; s < PAGE_SLOTS; s++)
		page_data_write(page, s, PAGE_POISON);
	spin_lock(&mdevice->lock);
	if (coherent)
		mdevice->cfree_pfns[mdevice->ncfree++] = page_to_pfn(page);
	else
		mdevice->free_pfns[mdevice->nfree++] = page_to_pfn(page);
	spin_unlock(&mdevice->lock);
}

/* ---- oracle 6: the migrate_vma / migrate_device contract ---- */

static bool mpfn_page_locked(unsigned long mpfn)
{
	struct page *page = migrate_pfn_to_page(mpfn);

	return page && __test_page_flag(page, PG_locked);
}

/*
 * A page migrate_vma_setup() hands over is one the caller selected
 * (include/linux/migrate.h): system memory with MIGRATE_VMA_SELECT_SYSTEM,
 * device-private or device-coherent memory with its SELECT flag and only
 * if the pgmap's owner is the caller's pgmap_owner.
 */
static const char *dmirror_not_selected(struct page *page,
					const struct migrate_vma *args)
{
	if (is_device_private_page(page)) {
		if (!(args->flags & MIGRATE_VMA_SELECT_DEVICE_PRIVATE))
			return "a device-private page without MIGRATE_VMA_SELECT_DEVICE_PRIVATE";
	} else if (is_device_coherent_page(page)) {
		if (!(args->flags & MIGRATE_VMA_SELECT_DEVICE_COHERENT))
			return "a device-coherent page without MIGRATE_VMA_SELECT_DEVICE_COHERENT";
	} else {
		if (!(args->flags & MIGRATE_VMA_SELECT_SYSTEM))
			return "a system page without MIGRATE_VMA_SELECT_SYSTEM";
		return NULL;
	}
	if (page->pgmap->owner != args->pgmap_owner)
		return "a device page of another pgmap owner";
	return NULL;
}

/*
 * After migrate_vma_setup() or migrate_device_range(): every entry that
 * still names a page migrates (the core clears the ones it restored) and
 * its page is locked; no destination is set yet.  After
 * migrate_vma_setup() (@args set), cpages counts the migrating entries,
 * holes the driver may populate included, and every page is of a kind
 * the caller selected (include/linux/migrate.h).
 */
static void dmirror_check_collected(const char *what, const unsigned long *src,
				    const unsigned long *dst,
				    unsigned long npages, long cpages,
				    const struct migrate_vma *args)
{
	unsigned long migrating = 0;

	for (unsigned long i = 0; i < npages; i++) {
		struct page *spage = src[i] & MIGRATE_PFN_VALID ?
				     migrate_pfn_to_page(src[i]) : NULL;
		const char *why;

		/* a report below is about this entry's page */
		if (args && spage &&
		    (why = dmirror_not_selected(spage, args))) {
			report_page(spage);
			report_bug(NULL, 0,
				   "migrate_vma contract: after %s, src[%lu] = %#lx is %s",
				   what, i, src[i], why);
		}
		if (src[i] & MIGRATE_PFN_MIGRATE)
			migrating++;
		if ((spage && !(src[i] & MIGRATE_PFN_MIGRATE)) ||
		    (spage && !mpfn_page_locked(src[i])))
			report_page(spage);
		if ((src[i] & MIGRATE_PFN_VALID) &&
		    !(src[i] & MIGRATE_PFN_MIGRATE))
			report_bug(NULL, 0,
				   "migrate_vma contract: after %s, src[%lu] = %#lx names a page but is not migrating",
				   what, i, src[i]);
		if ((src[i] & MIGRATE_PFN_VALID) && !mpfn_page_locked(src[i]))
			report_bug(NULL, 0,
				   "migrate_vma contract: after %s, the page of src[%lu] = %#lx is not locked",
				   what, i, src[i]);
		if (dst && dst[i])
			report_bug(NULL, 0,
				   "migrate_vma contract: after %s, dst[%lu] = %#lx is not empty",
				   what, i, dst[i]);
	}
	if (cpages >= 0 && (unsigned long)cpages != migrating)
		for (unsigned long i = 0; i < npages; i++)
			if (src[i] & MIGRATE_PFN_VALID)
				report_page(migrate_pfn_to_page(src[i]));
	if (cpages >= 0 && (unsigned long)cpages != migrating)
		report_bug(NULL, 0,
			   "migrate_vma contract: after %s, cpages is %ld but %lu src entries are migrating",
			   what, cpages, migrating);
}

/* After migrate_{vma,device}_pages(): a migrating entry has its destination. */
static void dmirror_check_pages(const char *what, const unsigned long *src,
				const unsigned long *dst, unsigned long npages)
{
	for (unsigned long i = 0; i < npages; i++)
		if ((src[i] & MIGRATE_PFN_MIGRATE) &&
		    !(dst[i] & MIGRATE_PFN_VALID))
			if (src[i] & MIGRATE_PFN_VALID)
				report_page(migrate_pfn_to_page(src[i]));
	for (unsigned long i = 0; i < npages; i++)
		if ((src[i] & MIGRATE_PFN_MIGRATE) &&
		    !(dst[i] & MIGRATE_PFN_VALID))
			report_bug(NULL, 0,
				   "migrate_vma contract: after %s, src[%lu] = %#lx still migrates without a destination",
				   what, i, src[i]);
}

/* The driver's choices for one chunk of an op (see dmirror.h). */
struct dmirror_choice {
	unsigned long op_start;
	unsigned int decline, failcopy;
};

static bool choice_bit(unsigned int mask, const struct dmirror_choice *c,
		       unsigned long addr)
{
	return (mask >> ((addr - c->op_start) >> PAGE_SHIFT)) & 1;
}

static bool declines(const struct dmirror_choice *c, unsigned long addr)
{
	return c && choice_bit(c->decline, c, addr);
}

static bool copy_fails(const struct dmirror_choice *c, unsigned long addr)
{
	return c && choice_bit(c->failcopy, c, addr);
}

/* A copy failed after the destination was allocated: give it back. */
static void dmirror_free_dst(struct page *dpage)
{
	unlock_page(dpage);
	put_page(dpage);
}

static void dmirror_migrate_alloc_and_copy(struct migrate_vma *args,
					   struct dmirror *dmirror,
					   const struct dmirror_choice *c,
					   unsigned int mem)
{
	const unsigned long *src = args->src;
	unsigned long *dst = args->dst;

	for (unsigned long addr = args->start; addr < args->end;
	     addr += PAGE_SIZE, src++, dst++) {
		struct page *spage, *dpage;

		if (!(*src & MIGRATE_PFN_MIGRATE))
			continue;
		if (declines(c, addr))
			continue;	/* the driver does not want it */
		/*
		 * Note that spage might be NULL which is OK since it is an
		 * unallocated pte_none() or read-only zero page.
		 */
		spage = migrate_pfn_to_page(*src);
		if (spage && is_zone_device_page(spage))
			continue;
		/* Coherent memory first, then private if it may use both. */
		dpage = NULL;
		if (mem & DMIRROR_MEM_COHERENT)
			dpage = dmirror_devmem_alloc_page(dmirror->mdevice, true);
		if (!dpage && (mem & DMIRROR_MEM_PRIVATE))
			dpage = dmirror_devmem_alloc_page(dmirror->mdevice,
							  false);
		if (!dpage)
			continue;	/* device memory full: leave it */
		if (copy_fails(c, addr)) {
			dmirror_free_dst(dpage);	/* the copy failed */
			continue;
		}
		if (spage)
			copy_highpage(dpage, spage);
		else
			clear_highpage(dpage);
		WRITE_ONCE(dpage->zone_device_data, dmirror);
		*dst = migrate_pfn(page_to_pfn(dpage));
		if ((*src & MIGRATE_PFN_WRITE) ||
		    (!spage && (args->vma->vm_flags & VM_WRITE)))
			*dst |= MIGRATE_PFN_WRITE;
	}
}

static void dmirror_migrate_finalize_and_map(struct migrate_vma *args,
					     struct dmirror *dmirror,
					     unsigned long seq)
{
	const unsigned long *src = args->src;
	const unsigned long *dst = args->dst;

	bool retry;

	mutex_lock(&dmirror->mutex);
	/* Invalidated meanwhile: map nothing, the device will fault. */
	retry = mmu_interval_read_retry(&dmirror->notifier, seq);
	for (unsigned long addr = args->start; addr < args->end;
	     addr += PAGE_SIZE, src++, dst++) {
		struct page *dpage = migrate_pfn_to_page(*dst);

		if (!dpage || !(*src & MIGRATE_PFN_MIGRATE))
			continue;
		/*
		 * The invalidation of our own migration was skipped: a
		 * mapping of the source page (from a device fault) goes now.
		 */
		dpt_set(dmirror, addr, 0);
		if (retry)
			continue;
		dpt_set(dmirror, addr, dpt_entry(page_to_pfn(dpage),
			(*dst & MIGRATE_PFN_WRITE) ? DPT_WRITE : 0));
	}
	mutex_unlock(&dmirror->mutex);
}

/*
 * The device mirror entry dropped is the one of the mirror that owns the
 * page being migrated: a fault may have found a different device page at
 * the address than the one it was raised for.
 */
static int dmirror_devmem_fault_alloc_and_copy(struct migrate_vma *args,
					       const struct dmirror_choice *c)
{
	const unsigned long *src = args->src;
	unsigned long *dst = args->dst;

	for (unsigned long addr = args->start; addr < args->end;
	     addr += PAGE_SIZE, src++, dst++) {
		struct page *dpage, *spage;
		struct dmirror *dmirror;

		spage = migrate_pfn_to_page(*src);
		if (!spage || !(*src & MIGRATE_PFN_MIGRATE))
			continue;
		if (declines(c, addr))
			continue;
		if (WARN_ON(!is_device_private_page(spage) &&
			    !is_device_coherent_page(spage)))
			continue;
		dpage = alloc_page();
		if (!dpage)
			continue;
		lock_page(dpage);
		dmirror = spage->zone_device_data;
		mutex_lock(&dmirror->mutex);
		dpt_set(dmirror, addr, 0);
		mutex_unlock(&dmirror->mutex);
		if (copy_fails(c, addr)) {
			dmirror_free_dst(dpage);	/* the copy failed */
			continue;
		}
		copy_highpage(dpage, spage);
		*dst = migrate_pfn(page_to_pfn(dpage));
		if (*src & MIGRATE_PFN_WRITE)
			*dst |= MIGRATE_PFN_WRITE;
	}
	return 0;
}

/* Unbind started: the device is going away. */
static bool dmirror_gone(struct dmirror *dmirror)
{
	bool gone;

	spin_lock(&dmirror->mdevice->lock);
	gone = dmirror->mdevice->removing;
	spin_unlock(&dmirror->mdevice->lock);
	return gone;
}

/*
 * Migrate [start, start + npages) chunk by chunk, one VMA at a time, under
 * the mmap lock held for read, as test_hmm does.  @to_device selects the
 * direction.
 */
/*
 * dmirror-fault-own-migration (proposed, not in Linux): the notifier
 * skips this device's own migrations, so the notifier sequence cannot
 * tell a device fault that one unmapped and copied the page of its
 * snapshot; the fault would map the old page and a device write to it
 * would be lost.  The driver marks its migrations in progress under its
 * mutex, and the fault retries when one ran beside its snapshot.
 * Reverted: test_hmm, which has no such check.
 */
static void dmirror_own_migration(struct dmirror *dmirror, int delta)
{
	if (!fix_enabled(FIX_DMIRROR_FAULT_OWN_MIGRATION))
		return;
	mutex_lock(&dmirror->mutex);
	dmirror->migrating += delta;
	dmirror->own_seq++;
	mutex_unlock(&dmirror->mutex);
}

static long dmirror_migrate(struct dmirror *dmirror, unsigned long start,
			    unsigned long npages, bool to_device,
			    unsigned int mem, const struct dmirror_choice *c)
{
	/* Zeroed, as test_hmm's: the RFC does not clear dst[] itself. */
	unsigned long src_pfns[MIGRATE_CHUNK] = { 0 };
	unsigned long dst_pfns[MIGRATE_CHUNK] = { 0 };
	unsigned long end = start + (npages << PAGE_SHIFT), addr, next;
	struct mm_struct *mm = dmirror->mm;
	struct migrate_vma args = { 0 };
	long ret = 0;

	/* Released: a real driver's ioctl fails once its device is gone. */
	if (dmirror_gone(dmirror))
		return -ENODEV;
	/* Since the mm is for the mirrored process, get a reference first. */
	if (!mmget_not_zero(mm))
		return -EINVAL;
	mmap_read_lock(mm);
	for (addr = start; addr < end; addr = next) {
		struct vm_area_struct *vma = find_vma(mm, addr);
		unsigned long seq = 0;

		if (!vma || vma->vm_start > addr ||
		    !(vma->vm_flags & VM_READ)) {
			ret = -EINVAL;
			break;
		}
		next = min(end, addr + (MIGRATE_CHUNK << PAGE_SHIFT));
		if (next > vma->vm_end)
			next = vma->vm_end;

		args.vma = vma;
		args.src = src_pfns;
		args.dst = dst_pfns;
		args.start = addr;
		args.end = next;
		args.pgmap_owner = dmirror->mdevice;
		args.flags = MIGRATE_VMA_SELECT_SYSTEM;
		if (!to_device) {
			args.flags = 0;
			if (mem & DMIRROR_MEM_PRIVATE)
				args.flags |= MIGRATE_VMA_SELECT_DEVICE_PRIVATE;
			if (mem & DMIRROR_MEM_COHERENT)
				args.flags |= MIGRATE_VMA_SELECT_DEVICE_COHERENT;
		}
		args.fault_page = NULL;
		if (to_device)
			seq = mmu_interval_read_begin(&dmirror->notifier);
		dmirror_own_migration(dmirror, 1);
		ret = migrate_vma_setup(&args);
		if (ret) {
			dmirror_own_migration(dmirror, -1);
			break;
		}
		dmirror_check_collected("migrate_vma_setup()", args.src,
					args.dst, args.npages,
					(long)args.cpages, &args);
		if (to_device)
			dmirror_migrate_alloc_and_copy(&args, dmirror, c, mem);
		else
			dmirror_devmem_fault_alloc_and_copy(&args, c);
		migrate_vma_pages(&args);
		dmirror_check_pages("migrate_vma_pages()", args.src, args.dst,
				    args.npages);
		if (to_device)
			dmirror_migrate_finalize_and_map(&args, dmirror, seq);
		migrate_vma_finalize(&args);
		dmirror_own_migration(dmirror, -1);
	}
	mmap_read_unlock(mm);
	/* The last reference after an exit tears the mm down here. */
	mmput(mm);
	return ret;
}

/* ---- device faults: hmm_range_fault() into the device page table ---- */

#define DMIRROR_RANGE_FAULT_TRIES 64	/* HMM_RANGE_DEFAULT_TIMEOUT */
#define DMIRROR_FAULT_PFNS 64

/* Map what hmm_range_fault() returned; under the driver mutex. */
static int dmirror_do_fault(struct dmirror *dmirror, struct hmm_range *range)
{
	unsigned long *pfns = range->hmm_pfns;
	unsigned long addr;

	for (addr = range->start; addr < range->end;
	     addr += PAGE_SIZE, pfns++) {
		unsigned long entry;

		/* Success with faulting asked for: every entry is valid. */
		WARN_ON(*pfns & HMM_PFN_ERROR);
		WARN_ON(!(*pfns & HMM_PFN_VALID));

		entry = dpt_entry(hmm_pfn_to_pfn(*pfns), 0);
		if (*pfns & HMM_PFN_WRITE)
			entry |= DPT_WRITE;
		/*
		 * hmm_range_fault() does not fault the caller's own
		 * device-private pages, even for HMM_PFN_REQ_WRITE: a
		 * read-only one (after fork, mprotect) comes back read-only.
		 * test_hmm WARNs; the fix migrates it back to system memory
		 * (dmirror_device_access()), where the write fault can COW.
		 */
		else if (fix_enabled(FIX_DMIRROR_WRITE_OWN_PRIVATE) &&
			 (range->default_flags & HMM_PFN_REQ_WRITE) &&
			 is_device_private_page(hmm_pfn_to_page(*pfns)))
			return -EACCES;
		else if (WARN_ON(range->default_flags & HMM_PFN_WRITE))
			return -EFAULT;
		dpt_store(dmirror, addr, entry);
	}
	return 0;
}

/*
 * test_hmm's dmirror_range_fault(): snapshot and fault the range until no
 * invalidation raced the walk, then map it under the driver mutex, which
 * the invalidate callback also takes.
 */
static int dmirror_range_fault(struct dmirror *dmirror,
			       struct hmm_range *range)
{
	struct mm_struct *mm = dmirror->mm;
	unsigned long own_seq;
	int tries = 0;
	int ret;

	while (true) {
		if (++tries > DMIRROR_RANGE_FAULT_TRIES)
			return -EBUSY;

		range->notifier_seq = mmu_interval_read_begin(range->notifier);
		/* Own migrations do not move the notifier sequence. */
		mutex_lock(&dmirror->mutex);
		own_seq = dmirror->own_seq;
		mutex_unlock(&dmirror->mutex);
		mmap_read_lock(mm);
		ret = hmm_range_fault(range);
		mmap_read_unlock(mm);
		if (ret) {
			if (ret == -EBUSY)
				continue;
			return ret;
		}

		mutex_lock(&dmirror->mutex);
		if (mmu_interval_read_retry(range->notifier,
					    range->notifier_seq) ||
		    dmirror->own_seq != own_seq ||
		    (fix_enabled(FIX_DMIRROR_FAULT_OWN_MIGRATION) &&
		     dmirror->migrating)) {
			mutex_unlock(&dmirror->mutex);
			continue;
		}
		break;
	}

	ret = dmirror_do_fault(dmirror, range);

	mutex_unlock(&dmirror->mutex);
	return ret;
}

int dmirror_fault(struct dmirror *dmirror, unsigned long start,
		  unsigned long end, bool write)
{
	struct mm_struct *mm = dmirror->mm;
	unsigned long pfns[DMIRROR_FAULT_PFNS];
	struct hmm_range range = {
		.notifier = &dmirror->notifier,
		.hmm_pfns = pfns,
		.pfn_flags_mask = 0,
		.default_flags =
			HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0),
		.dev_private_owner = dmirror->mdevice,
	};
	unsigned long addr;
	int ret = 0;

	/* Since the mm is for the mirrored process, get a reference first. */
	if (!mmget_not_zero(mm))
		return 0;

	for (addr = start; addr < end; addr = range.end) {
		range.start = addr;
		range.end = min(end, addr + (DMIRROR_FAULT_PFNS << PAGE_SHIFT));

		ret = dmirror_range_fault(dmirror, &range);
		if (ret)
			break;
	}

	mmput(mm);
	return ret;
}

/*
 * The RFC's test_hmm (patch 4/4 of the series, do_fault_and_migrate()):
 * fault the chunk in with HMM_PFN_REQ_MIGRATE, which also unmaps it for
 * migration, then migrate it as after migrate_vma_setup().
 */
static int do_fault_and_migrate(struct dmirror *dmirror,
				struct hmm_range *range, unsigned int mem,
				const struct dmirror_choice *c)
{
	struct migrate_vma *migrate = range->migrate;
	struct migrate_vma selected;
	int ret;

	mmap_read_lock(dmirror->mm);

	/* Fault-in pages for migration and update device page table */
	ret = dmirror_range_fault(dmirror, range);

	migrate_hmm_range_setup(range);
	/* HMM_PFN_REQ_MIGRATE selects system memory (the RFC's hmm.h). */
	selected = *migrate;
	if (range->default_flags & HMM_PFN_REQ_MIGRATE)
		selected.flags |= MIGRATE_VMA_SELECT_SYSTEM;
	dmirror_check_collected("migrate_hmm_range_setup()", migrate->src,
				migrate->dst, migrate->npages,
				(long)migrate->cpages, &selected);

	dmirror_migrate_alloc_and_copy(migrate, dmirror, c, mem);
	migrate_vma_pages(migrate);
	dmirror_check_pages("migrate_vma_pages()", migrate->src,
			    migrate->dst, migrate->npages);
	dmirror_migrate_finalize_and_map(migrate, dmirror,
					 range->notifier_seq);
	migrate_vma_finalize(migrate);

	mmap_read_unlock(dmirror->mm);
	return ret;
}

static long dmirror_fault_and_migrate_to_device(struct dmirror *dmirror,
						unsigned long start,
						unsigned long npages,
						unsigned int mem,
						const struct dmirror_choice *c)
{
	unsigned long end = start + (npages << PAGE_SHIFT), next;
	unsigned long src_pfns[DMIRROR_FAULT_PFNS] = { 0 };
	unsigned long dst_pfns[DMIRROR_FAULT_PFNS] = { 0 };
	struct migrate_vma migrate = { 0 };
	struct hmm_range range = { 0 };
	int ret = 0;

	if (!mmget_not_zero(dmirror->mm))
		return -EFAULT;

	migrate.pgmap_owner = dmirror->mdevice;
	migrate.src = src_pfns;
	migrate.dst = dst_pfns;

	range.migrate = &migrate;
	range.hmm_pfns = src_pfns;
	range.pfn_flags_mask = 0;
	range.default_flags = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_MIGRATE;
	range.dev_private_owner = dmirror->mdevice;
	range.notifier = &dmirror->notifier;

	for (next = start; next < end; next = range.end) {
		range.start = next;
		range.end = min(end, next + (DMIRROR_FAULT_PFNS << PAGE_SHIFT));

		ret = do_fault_and_migrate(dmirror, &range, mem, c);
		if (ret)
			break;
	}

	mmput(dmirror->mm);
	return ret;
}

long dmirror_migrate_to_device(struct dmirror *dmirror, unsigned long start,
			       unsigned long npages, unsigned int mem,
			       unsigned int decline, unsigned int failcopy,
			       bool fault)
{
	struct dmirror_choice c = { start, decline, failcopy };
	long ret;

	mem = mem ? mem : DMIRROR_MEM_PRIVATE;
	if (!fault)
		return dmirror_migrate(dmirror, start, npages, true, mem, &c);

	/* Released: a real driver's ioctl fails once its device is gone. */
	if (dmirror_gone(dmirror))
		return -ENODEV;
	/* The RFC's single walk: fault, unmap and migrate. */
	if (variant_rfc_unified)
		return dmirror_fault_and_migrate_to_device(dmirror, start,
							   npages, mem, &c);
	/* Upstream: one walk to fault the pages in, then the migration's. */
	ret = dmirror_fault(dmirror, start, start + (npages << PAGE_SHIFT),
			    false);
	if (ret)
		return ret;
	return dmirror_migrate(dmirror, start, npages, true, mem, &c);
}

long dmirror_migrate_to_system(struct dmirror *dmirror, unsigned long start,
			       unsigned long npages, unsigned int mem,
			       unsigned int decline, unsigned int failcopy)
{
	struct dmirror_choice c = { start, decline, failcopy };

	return dmirror_migrate(dmirror, start, npages, false,
			       mem ? mem : DMIRROR_MEM_PRIVATE, &c);
}

/* pgmap->ops->migrate_to_ram(): a CPU touched a device-private entry. */
static int dmirror_devmem_fault(struct vm_fault *vmf)
{
	struct migrate_vma args = { 0 };
	unsigned long src_pfns = 0, dst_pfns = 0;
	struct dmirror *dmirror = vmf->page->zone_device_data;

	if (!dmirror)
		report_page(vmf->page);
	if (!dmirror)
		report_bug(vmf->vma->vm_mm, vmf->address,
			   "migrate_to_ram on pfn %lu that the driver freed",
			   page_to_pfn(vmf->page));
	args.vma = vmf->vma;
	args.start = vmf->address;
	args.end = args.start + PAGE_SIZE;
	args.src = &src_pfns;
	args.dst = &dst_pfns;
	args.pgmap_owner = dmirror->mdevice;
	args.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE;
	/* Before the fix the core knew nothing of the faulting page. */
	if (fix_enabled(FIX_DEVICE_PRIVATE_FAULT_REF))
		args.fault_page = vmf->page;

	if (migrate_vma_setup(&args))
		return VM_FAULT_SIGBUS;
	dmirror_check_collected("migrate_vma_setup()", args.src, args.dst,
				args.npages, (long)args.cpages, &args);
	dmirror_devmem_fault_alloc_and_copy(&args, NULL);
	migrate_vma_pages(&args);
	dmirror_check_pages("migrate_vma_pages()", args.src, args.dst,
			    args.npages);
	/*
	 * No device finalize step is needed since
	 * dmirror_devmem_fault_alloc_and_copy() will have already
	 * invalidated the device page table.
	 */
	migrate_vma_finalize(&args);
	return 0;
}

/* ---- device accesses through the mirror ---- */

/*
 * dmirror_do_read() / dmirror_do_write() for one page, under the mutex:
 * -ENOENT if the device page table has no entry that allows the access.
 * An atomic entry (device-exclusive) allows both: the page is the
 * device's until the CPU takes it back.
 */
static int dmirror_do_access(struct dmirror *dmirror, unsigned long addr,
			     struct dmirror_access *a)
{
	unsigned long entry = dmirror->pt[dpt_index(addr)];

	if (!entry)
		return -ENOENT;
	if (a->write && !(entry & (DPT_WRITE | DPT_ATOMIC)))
		return -ENOENT;
	a->fn(a, pfn_to_page(dpt_pfn(entry)), entry);
	return 0;
}

#define DMIRROR_ACCESS_FAULTS 64

/* test_hmm's dmirror_read() / dmirror_write(), for one page. */
int dmirror_device_access(struct dmirror *dmirror, unsigned long addr,
			  struct dmirror_access *a)
{
	struct mm_struct *mm = dmirror->mm;
	int ret;

	if (addr < TASK_UNMAPPED_BASE || addr >= TASK_SIZE)
		return -EINVAL;
	addr &= PAGE_MASK;
	/* The process asking holds its mm (the ioctl's caller). */
	if (!mmget_not_zero(mm))
		return -EINVAL;
	while (1) {
		mutex_lock(&dmirror->mutex);
		ret = dmirror_do_access(dmirror, addr, a);
		mutex_unlock(&dmirror->mutex);
		if (ret != -ENOENT)
			break;

		ret = dmirror_fault(dmirror, addr, addr + PAGE_SIZE, a->write);
		/* A read-only device page of its own: bring it back first. */
		if (ret == -EACCES)
			ret = dmirror_migrate_to_system(dmirror, addr, 1,
							DMIRROR_MEM_PRIVATE,
							0, 0);
		if (ret)
			break;
		/* Invalidated again before the access: fault again. */
		if (++a->faults == DMIRROR_ACCESS_FAULTS) {
			ret = -EBUSY;
			break;
		}
	}
	mmput(mm);
	return ret;
}


/* ---- device-exclusive access ---- */

#define EXCLUSIVE_RETRIES 16

/*
 * Map the pages made exclusive into the device page table as atomic
 * entries, unless an invalidation ran since @seq: then nothing (the
 * caller retries).  The number of pages mapped, or -EAGAIN.
 */
static long dmirror_atomic_map(unsigned long start, unsigned long end,
			       struct page **pages, struct dmirror *dmirror,
			       unsigned long seq)
{
	unsigned long addr, mapped = 0;
	int i;

	/* Map the migrated pages into the device's page tables. */
	mutex_lock(&dmirror->mutex);
	if (mmu_interval_read_retry(&dmirror->notifier, seq)) {
		mutex_unlock(&dmirror->mutex);
		return -EAGAIN;
	}
	for (i = 0, addr = start; addr < end; addr += PAGE_SIZE, i++) {
		if (!pages[i])
			continue;
		mapped++;
		/* Its own memory: the device reaches it without atomics. */
		if (is_zone_device_page(pages[i]))
			continue;
		dpt_store(dmirror, addr,
			  dpt_entry(page_to_pfn(pages[i]),
				    DPT_WRITE | DPT_ATOMIC));
	}
	mutex_unlock(&dmirror->mutex);
	return mapped;
}

long dmirror_exclusive(struct dmirror *dmirror, unsigned long start,
		       unsigned long npages)
{
	struct page *pages[MIGRATE_CHUNK];
	unsigned long end = start + (npages << PAGE_SHIFT), addr, next;
	struct mm_struct *mm = dmirror->mm;
	long ret = 0;

	/* Since the mm is for the mirrored process, get a reference first. */
	if (!mmget_not_zero(mm))
		return -EINVAL;

	mmap_read_lock(mm);
	for (addr = start; addr < end; addr = next) {
		long mapped = 0;
		int tries = 0;

		next = min(end, addr + (MIGRATE_CHUNK << PAGE_SHIFT));
		for (;;) {
			unsigned long seq;

			/*
			 * A retry: fault the range in for write first.  GUP
			 * in make_device_exclusive_range() would fault on the
			 * entries the last try made, and the restore's
			 * invalidation (no owner) would fail the check again.
			 */
			if (tries) {
				ret = __get_user_pages_locked(mm, addr,
						(next - addr) >> PAGE_SHIFT,
						FOLL_WRITE, pages);
				for (long i = 0; i < ret; i++)
					put_page(pages[i]);
			}
			seq = mmu_interval_read_begin(&dmirror->notifier);
			ret = make_device_exclusive_range(mm, addr, next, pages,
							  dmirror->mdevice);
			/*
			 * Do dmirror_atomic_map() iff all pages are marked
			 * for exclusive access to avoid accessing
			 * uninitialized fields of pages.
			 */
			mapped = 0;
			if (ret == (long)((next - addr) >> PAGE_SHIFT))
				mapped = dmirror_atomic_map(addr, next, pages,
							    dmirror, seq);
			for (long i = 0; i < ret; i++) {
				if (pages[i]) {
					unlock_page(pages[i]);
					put_page(pages[i]);
				}
			}
			/*
			 * A device-coherent page of its own is not kept
			 * exclusive: the entry would hold the page (and unbind)
			 * until the CPU touched it again.  Fault it back.
			 */
			for (long i = 0; i < ret; i++) {
				unsigned long a = addr + (i << PAGE_SHIFT);
				struct page *page;

				if (!pages[i] || !is_zone_device_page(pages[i]))
					continue;
				if (__get_user_pages_locked(mm, a, 1,
							    FOLL_WRITE,
							    &page) == 1)
					put_page(page);
			}
			/* Invalidated before the entries went in: again. */
			if (mapped != -EAGAIN || ++tries == EXCLUSIVE_RETRIES)
				break;
			sched_yield_point("exclusive retry", __func__);
		}
		if (ret < 0)
			break;
		ret = 0;
		if (mapped < 0 || addr + ((unsigned long)mapped << PAGE_SHIFT) < next) {
			ret = -EBUSY;
			break;
		}
	}
	mmap_read_unlock(mm);
	mmput(mm);
	return ret;
}

/* ---- release: evict the device memory, then memunmap_pages() ---- */

/*
 * One pass over a chunk of device pfns, as test_hmm's
 * dmirror_device_evict_chunk().  @spare, bit i for entry i: the driver
 * also allocates a destination for an entry that has no source page (a
 * free device page); the API allows it, the core frees what it does not
 * use.  A failed allocation leaves the page on the device for the next
 * pass.
 */
static void dmirror_device_evict_chunk(struct dmirror_device *mdevice,
				       unsigned long start_pfn,
				       unsigned long npages, unsigned int spare)
{
	unsigned long src_pfns[MIGRATE_CHUNK], dst_pfns[MIGRATE_CHUNK];

	memset(dst_pfns, 0, sizeof(dst_pfns));
	migrate_device_range(src_pfns, start_pfn, npages);
	dmirror_check_collected("migrate_device_range()", src_pfns, NULL,
				npages, -1, NULL);
	for (unsigned long i = 0; i < npages; i++) {
		struct page *dpage, *spage;

		spage = migrate_pfn_to_page(src_pfns[i]);
		if (!spage && !((spare >> i) & 1))
			continue;
		if (spage && !(src_pfns[i] & MIGRATE_PFN_MIGRATE))
			continue;
		if (spage && WARN_ON(!is_device_private_page(spage) &&
				     !is_device_coherent_page(spage)))
			continue;
		dpage = alloc_page();
		if (!dpage)
			continue;
		lock_page(dpage);
		if (spage)
			copy_highpage(dpage, spage);
		else
			clear_highpage(dpage);
		dst_pfns[i] = migrate_pfn(page_to_pfn(dpage));
		if (src_pfns[i] & MIGRATE_PFN_WRITE)
			dst_pfns[i] |= MIGRATE_PFN_WRITE;
	}
	migrate_device_pages(src_pfns, dst_pfns, npages);
	dmirror_check_pages("migrate_device_pages()", src_pfns, dst_pfns,
			    npages);
	migrate_device_finalize(src_pfns, dst_pfns, npages);
}

/* Every device page is back on the driver's free lists. */
static bool dmirror_device_idle(struct dmirror_device *mdevice)
{
	bool idle;

	spin_lock(&mdevice->lock);
	idle = mdevice->nfree == DEVICE_PAGES &&
	       mdevice->ncfree == COHERENT_PAGES;
	spin_unlock(&mdevice->lock);
	return idle;
}

/*
 * A device-coherent page that someone pinned cannot migrate until it is
 * unpinned: a short-term pin is released eventually, so waiting for it
 * is not a livelock (and FOLL_LONGTERM migrates these pages out first).
 */
static bool dmirror_device_pinned(struct dmirror_device *mdevice)
{
	struct dev_pagemap *pgmap = &mdevice->cpagemap;

	for (unsigned long pfn = pgmap->first_pfn;
	     pfn < pgmap->first_pfn + pgmap->nr_pages; pfn++)
		if (page_maybe_dma_pinned(pfn_to_page(pfn)))
			return true;
	return false;
}

static void dmirror_device_evict(struct dmirror_device *mdevice,
				 struct dev_pagemap *pgmap, unsigned int spare)
{
	for (unsigned long pfn = pgmap->first_pfn;
	     pfn < pgmap->first_pfn + pgmap->nr_pages; pfn += MIGRATE_CHUNK)
		dmirror_device_evict_chunk(mdevice, pfn,
			min((unsigned long)MIGRATE_CHUNK,
			    pgmap->first_pfn + pgmap->nr_pages - pfn),
			spare);
}

#define EVICT_PASSES 64

int dmirror_device_remove(struct dmirror_device *mdevice, unsigned int spare)
{
	int pass = 0;

	spin_lock(&mdevice->lock);
	if (mdevice->removing) {
		spin_unlock(&mdevice->lock);
		return -ENODEV;
	}
	mdevice->removing = true;	/* no new device pages from now on */
	spin_unlock(&mdevice->lock);

	/*
	 * A page that is locked or referenced by a migration or a fault in
	 * flight is skipped by migrate_device_range(): evict again until
	 * every page came back through page_free.
	 */
	for (bool first = true; !dmirror_device_idle(mdevice); first = false) {
		if (!first) {
			if (!dmirror_device_pinned(mdevice))
				pass++;
			/* Stress mode: the watchdog judges by the clock. */
			if (pass == EVICT_PASSES && !stress_mode) {
				report_obj(&mdevice->pagemap, RO_PGMAP);
				report_obj(&mdevice->cpagemap, RO_PGMAP);
				report_bug(NULL, 0,
					   "livelock: unbind could not evict the device memory in %d passes",
					   EVICT_PASSES);
			}
			sched_yield_point("evict retry", __func__);
		}
		dmirror_device_evict(mdevice, &mdevice->pagemap,
				     first ? spare : 0);
		dmirror_device_evict(mdevice, &mdevice->cpagemap,
				     first ? spare : 0);
	}
	memunmap_pages(&mdevice->pagemap);
	memunmap_pages(&mdevice->cpagemap);
	return 0;
}

static const struct dev_pagemap_ops dmirror_devmem_ops = {
	.page_free = dmirror_devmem_free,
	.migrate_to_ram = dmirror_devmem_fault,
};

/* memremap_pages() requires no migrate_to_ram for MEMORY_DEVICE_COHERENT. */
static const struct dev_pagemap_ops dmirror_devmem_coherent_ops = {
	.page_free = dmirror_devmem_free,
};

void dmirror_device_init(struct dmirror_device *mdevice)
{
	memset(mdevice, 0, sizeof(*mdevice));
	spin_lock_init(&mdevice->lock, "mdevice->lock");
	mdevice->pagemap.type = MEMORY_DEVICE_PRIVATE;
	mdevice->pagemap.first_pfn = DEVICE_FIRST_PFN;
	mdevice->pagemap.nr_pages = DEVICE_PAGES;
	mdevice->pagemap.ops = &dmirror_devmem_ops;
	mdevice->pagemap.owner = mdevice;
	memremap_pages(&mdevice->pagemap);
	/*
	 * The coherent chunk: no migrate_to_ram, the CPU maps these pages
	 * directly; the same owner, so one migration may select both.
	 */
	mdevice->cpagemap.type = MEMORY_DEVICE_COHERENT;
	mdevice->cpagemap.first_pfn = COHERENT_FIRST_PFN;
	mdevice->cpagemap.nr_pages = COHERENT_PAGES;
	mdevice->cpagemap.ops = &dmirror_devmem_coherent_ops;
	mdevice->cpagemap.owner = mdevice;
	memremap_pages(&mdevice->cpagemap);
	/* Hand out low pfns first: free list is a stack. */
	for (int i = DEVICE_PAGES - 1; i >= 0; i--)
		mdevice->free_pfns[mdevice->nfree++] = DEVICE_FIRST_PFN + i;
	for (int i = COHERENT_PAGES - 1; i >= 0; i--)
		mdevice->cfree_pfns[mdevice->ncfree++] = COHERENT_FIRST_PFN + i;
}

int dmirror_init(struct dmirror *dmirror, struct dmirror_device *mdevice,
		 struct mm_struct *mm)
{
	memset(dmirror, 0, sizeof(*dmirror));
	dmirror->mdevice = mdevice;
	dmirror->mm = mm;
	dmirror->mutex.name = "dmirror->mutex";
	return mmu_interval_notifier_insert(&dmirror->notifier, mm,
					    TASK_UNMAPPED_BASE,
					    TASK_SIZE - TASK_UNMAPPED_BASE,
					    &dmirror_min_ops);
}
