/* SPDX-License-Identifier: GPL-2.0 */
/*
 * include/linux/hmm.h as of Linux 6.16, the base of the RFC "mm: unified
 * fault and migrate device page paths" (seed 001), with that RFC's
 * additions (HMM_PFN_MIGRATE / HMM_PFN_REQ_MIGRATE, hmm_range.migrate),
 * which only the rfc-unified variant sets.
 *
 * An hmm_pfns[] entry is a pfn with the flags in its top bits.  Here
 * BITS_PER_LONG is 64 and pfns are small, so the layout is the kernel's.
 */
#ifndef MIGRACE_HMM_H
#define MIGRACE_HMM_H

#include <migrace/mm.h>
#include <migrace/mmu_notifier.h>

struct migrate_vma;

#define HMM_BITS_PER_LONG 64

enum hmm_pfn_flags {
	/* Output fields and flags */
	HMM_PFN_VALID = 1UL << (HMM_BITS_PER_LONG - 1),
	HMM_PFN_WRITE = 1UL << (HMM_BITS_PER_LONG - 2),
	HMM_PFN_ERROR = 1UL << (HMM_BITS_PER_LONG - 3),
	/* In and out: left alone by the walk (the driver's DMA state) */
	HMM_PFN_DMA_MAPPED = 1UL << (HMM_BITS_PER_LONG - 4),
	HMM_PFN_P2PDMA = 1UL << (HMM_BITS_PER_LONG - 5),
	HMM_PFN_P2PDMA_BUS = 1UL << (HMM_BITS_PER_LONG - 6),

	/* The RFC: migrate request */
	HMM_PFN_MIGRATE = 1UL << (HMM_BITS_PER_LONG - 7),
	HMM_PFN_ORDER_SHIFT = (HMM_BITS_PER_LONG - 12),

	/* Input flags */
	HMM_PFN_REQ_FAULT = HMM_PFN_VALID,
	HMM_PFN_REQ_WRITE = HMM_PFN_WRITE,
	HMM_PFN_REQ_MIGRATE = HMM_PFN_MIGRATE,

	HMM_PFN_FLAGS = ~((1UL << HMM_PFN_ORDER_SHIFT) - 1),
};

#define HMM_PFN_INOUT_FLAGS (HMM_PFN_DMA_MAPPED | HMM_PFN_P2PDMA | \
			     HMM_PFN_P2PDMA_BUS)

static inline struct page *hmm_pfn_to_page(unsigned long hmm_pfn)
{
	return pfn_to_page(hmm_pfn & ~HMM_PFN_FLAGS);
}

static inline unsigned long hmm_pfn_to_pfn(unsigned long hmm_pfn)
{
	return hmm_pfn & ~HMM_PFN_FLAGS;
}

struct hmm_range {
	struct mmu_interval_notifier *notifier;
	unsigned long notifier_seq;
	unsigned long start;
	unsigned long end;
	unsigned long *hmm_pfns;
	unsigned long default_flags;
	unsigned long pfn_flags_mask;
	void *dev_private_owner;
	struct migrate_vma *migrate;	/* the RFC */
};

/*
 * 0, or -EBUSY (the range was invalidated: read_begin() again and retry),
 * -EFAULT (a page requested valid cannot be), -EPERM (write fault on a
 * read-only vma), and in the RFC -ERANGE (the range crosses VMAs).
 */
int hmm_range_fault(struct hmm_range *range);

#endif
