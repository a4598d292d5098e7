/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The emulated device driver, after lib/test_hmm.c ("dmirror"): a device
 * page table mirroring one process's, device-private and device-coherent
 * memory, migration to and from the device, and migrate_to_ram() for CPU
 * faults on device-private entries.
 */
#ifndef MIGRACE_DMIRROR_H
#define MIGRACE_DMIRROR_H

#include <migrace/memremap.h>
#include <migrace/mmu_notifier.h>

#define DPT_ENTRIES (PTRS_PER_PGD * PTRS_PER_PMD * PTRS_PER_PTE)
/*
 * A device page table entry: (pfn << DPT_PFN_SHIFT) | DPT_VALID | flags,
 * 0 when empty.  DPT_VALID: a read-only entry of pfn 0 (the zero page)
 * is not empty.  DPT_WRITE: the device may write; DPT_ATOMIC: the page is
 * the device's exclusively (make_device_exclusive_range(), test_hmm's
 * DPT_XA_TAG_ATOMIC), the CPU maps it with a device-exclusive entry.
 */
#define DPT_WRITE	BIT(0)
#define DPT_ATOMIC	BIT(1)
#define DPT_VALID	BIT(2)
#define DPT_PFN_SHIFT	3
static inline unsigned long dpt_entry(unsigned long pfn, unsigned long flags)
{
	return (pfn << DPT_PFN_SHIFT) | DPT_VALID | flags;
}
static inline unsigned long dpt_pfn(unsigned long entry)
{
	return entry >> DPT_PFN_SHIFT;
}

/* The kinds of device memory a migration uses (the program's MEM_*). */
#define DMIRROR_MEM_PRIVATE	0x1
#define DMIRROR_MEM_COHERENT	0x2

struct dmirror_device {
	struct dev_pagemap pagemap;	/* device-private memory */
	struct dev_pagemap cpagemap;	/* device-coherent memory */
	spinlock_t lock;
	unsigned long free_pfns[DEVICE_PAGES];
	int nfree;
	unsigned long cfree_pfns[COHERENT_PAGES];
	int ncfree;
	bool removing;	/* unbind started: the device is going away */
};

struct dmirror {
	struct dmirror_device *mdevice;
	struct mm_struct *mm;
	struct mmu_interval_notifier notifier;
	struct rw_semaphore mutex;	/* used as a mutex */
	/*
	 * Bumped, under the mutex, by every change the driver's own
	 * migrations make to the device page table (their invalidations
	 * are skipped and do not move the notifier sequence).
	 */
	unsigned long own_seq;
	/* own migrations in progress (dmirror-fault-own-migration) */
	int migrating;
	/*
	 * Simplified xarray: one past the highest entry ever stored, where
	 * the driver's walks of a range stop (xa_for_each_range() visits
	 * the present entries only; a walk of all DPT_ENTRIES was a tenth
	 * of a fuzz execution).
	 */
	unsigned long pt_used;
	/* device page table: dpt_entry(pfn, DPT_*), 0 when empty */
	unsigned long pt[DPT_ENTRIES];
};

void dmirror_device_init(struct dmirror_device *mdevice);
int dmirror_init(struct dmirror *dmirror, struct dmirror_device *mdevice,
		 struct mm_struct *mm);
/*
 * @decline, @failcopy: the driver's choices that the migrate_vma API
 * allows, bit i for page start + i: entries it does not migrate, and
 * entries whose copy fails after the destination was allocated.
 * @mem, DMIRROR_MEM_* bits (0 is private): to the device, the kind of
 * memory allocated (coherent first when both); to system, the kinds
 * selected (MIGRATE_VMA_SELECT_DEVICE_PRIVATE / _COHERENT).
 */
long dmirror_migrate_to_device(struct dmirror *dmirror, unsigned long start,
			       unsigned long npages, unsigned int mem,
			       unsigned int decline, unsigned int failcopy,
			       bool fault);
/*
 * test_hmm's dmirror_fault(): fault [start, end) in with hmm_range_fault()
 * (HMM_PFN_REQ_WRITE if @write) and map it in the device page table.
 */
int dmirror_fault(struct dmirror *dmirror, unsigned long start,
		  unsigned long end, bool write);
long dmirror_migrate_to_system(struct dmirror *dmirror, unsigned long start,
			       unsigned long npages, unsigned int mem,
			       unsigned int decline, unsigned int failcopy);

/*
 * Device-exclusive access (test_hmm's dmirror_exclusive(), with the
 * notifier sequence check a driver needs): make [start, start + npages)
 * exclusive to the device and map it atomic in the device page table.
 * 0, -EBUSY if a page could not be made exclusive or mapped, -errno.
 */
long dmirror_exclusive(struct dmirror *dmirror, unsigned long start,
		       unsigned long npages);

/*
 * A device access (test_hmm's dmirror_read() / dmirror_write()) of the
 * page at @addr: look up the device page table under the driver mutex,
 * fault it in with hmm_range_fault() when there is no suitable entry,
 * then call @fn, still under the mutex, with the page the entry maps.
 * 0, or -errno (-EFAULT: no VMA; -EPERM: a write to a read-only VMA;
 * -EBUSY: the fault kept being invalidated).
 */
struct dmirror_access {
	bool write;
	void (*fn)(struct dmirror_access *a, struct page *page,
		   unsigned long entry);
	void *arg;
	int faults;	/* dmirror_fault() calls made */
};
int dmirror_device_access(struct dmirror *dmirror, unsigned long addr,
			  struct dmirror_access *a);

/*
 * Unbind (test_hmm's remove): evict every device page, private and
 * coherent, back to system memory with migrate_device_range(), then
 * memunmap_pages() on both.  @spare:
 * the driver's choice, bit i for entry i of each eviction chunk, to
 * allocate a destination for an entry with no source page.  -ENODEV if
 * the device is already gone.
 */
int dmirror_device_remove(struct dmirror_device *mdevice, unsigned int spare);

#endif
