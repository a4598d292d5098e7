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
 */
#include <migrace/check.h>
#include <migrace/dmirror.h>
#include <migrace/fixes.h>
#include <migrace/gup.h>
#include <migrace/migrate.h>
#include <migrace/mm.h>

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

static void dmirror_do_update(struct dmirror *dmirror, unsigned long start,
			      unsigned long end)
{
	for (unsigned long a = start; a < end; a += PAGE_SIZE)
		if (a >= TASK_UNMAPPED_BASE && a < TASK_SIZE)
			dmirror->pt[dpt_index(a)] = 0;
}

static bool dmirror_interval_invalidate(struct mmu_interval_notifier *mni,
					const struct mmu_notifier_range *range,
					unsigned long cur_seq)
{
	struct dmirror *dmirror = container_of(mni, struct dmirror, notifier);

	/*
	 * Ignore invalidation callbacks for device private pages since
	 * the invalidation is handled as part of the migration process.
	 */
	if (range->event == MMU_NOTIFY_MIGRATE &&
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

	page->zone_device_data = NULL;
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
		const char *why;

		if (args && (src[i] & MIGRATE_PFN_VALID) &&
		    (why = dmirror_not_selected(migrate_pfn_to_page(src[i]),
						args)))
			report_bug(NULL, 0,
				   "migrate_vma contract: after %s, src[%lu] = %#lx is %s",
				   what, i, src[i], why);
		if (src[i] & MIGRATE_PFN_MIGRATE)
			migrating++;
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
		dpage->zone_device_data = dmirror;
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

	mutex_lock(&dmirror->mutex);
	/* Invalidated meanwhile: map nothing, the device will fault. */
	if (mmu_interval_read_retry(&dmirror->notifier, seq))
		goto out;
	for (unsigned long addr = args->start; addr < args->end;
	     addr += PAGE_SIZE, src++, dst++) {
		struct page *dpage = migrate_pfn_to_page(*dst);

		if (!dpage || !(*src & MIGRATE_PFN_MIGRATE))
			continue;
		dmirror->pt[dpt_index(addr)] =
			(page_to_pfn(dpage) << 1) |
			((*dst & MIGRATE_PFN_WRITE) ? DPT_WRITE : 0);
	}
out:
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
		dmirror->pt[dpt_index(addr)] = 0;
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

/*
 * Migrate [start, start + npages) chunk by chunk, one VMA at a time, under
 * the mmap lock held for read, as test_hmm does.  @to_device selects the
 * direction.
 */
static long dmirror_migrate(struct dmirror *dmirror, unsigned long start,
			    unsigned long npages, bool to_device,
			    unsigned int mem, const struct dmirror_choice *c)
{
	unsigned long src_pfns[MIGRATE_CHUNK], dst_pfns[MIGRATE_CHUNK];
	unsigned long end = start + (npages << PAGE_SHIFT), addr, next;
	struct mm_struct *mm = dmirror->mm;
	struct migrate_vma args = { 0 };
	long ret = 0;
	bool gone;

	/* Released: a real driver's ioctl fails once its device is gone. */
	spin_lock(&dmirror->mdevice->lock);
	gone = dmirror->mdevice->removing;
	spin_unlock(&dmirror->mdevice->lock);
	if (gone)
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
		ret = migrate_vma_setup(&args);
		if (ret)
			break;
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
	}
	mmap_read_unlock(mm);
	/* The last reference after an exit tears the mm down here. */
	mmput(mm);
	return ret;
}

long dmirror_migrate_to_device(struct dmirror *dmirror, unsigned long start,
			       unsigned long npages, unsigned int mem,
			       unsigned int decline, unsigned int failcopy)
{
	struct dmirror_choice c = { start, decline, failcopy };

	return dmirror_migrate(dmirror, start, npages, true,
			       mem ? mem : DMIRROR_MEM_PRIVATE, &c);
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
			if (pass == EVICT_PASSES && !stress_mode)
				report_bug(NULL, 0,
					   "livelock: unbind could not evict the device memory in %d passes",
					   EVICT_PASSES);
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
