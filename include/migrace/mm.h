/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mm_struct, VMAs, faults and the syscall-level entry points of the
 * emulated mm (mmap, munmap, madvise, fork, exit).
 */
#ifndef MIGRACE_MM_H
#define MIGRACE_MM_H

#include <migrace/kernel.h>
#include <migrace/page.h>
#include <migrace/pgtable.h>
#include <migrace/spinlock.h>

#define VM_READ 0x1UL
#define VM_WRITE 0x2UL
#define VM_EXEC 0x4UL
#define VM_SHARED 0x8UL
#define VM_MAYWRITE 0x20UL
#define VM_IO 0x4000UL
#define VM_PFNMAP 0x400UL
#define VM_MIXEDMAP 0x10000000UL
#define VM_HUGETLB 0x400000UL
#define VM_SPECIAL (VM_IO | VM_PFNMAP | VM_MIXEDMAP)

#define MAX_VMAS 16

struct anon_vma;
struct mmu_notifier_subscriptions;

struct vm_area_struct {
	unsigned long vm_start, vm_end;
	unsigned long vm_flags;
	pgprot_t vm_page_prot;
	unsigned long vm_pgoff;	/* linear index of vm_start */
	struct mm_struct *vm_mm;
	struct anon_vma *anon_vma;
	struct list_head anon_vma_chain;	/* of struct anon_vma_chain */
};

struct mm_struct {
	int id;			/* process number in the program */
	pgd_t pgd[PTRS_PER_PGD];
	struct rw_semaphore mmap_lock;
	spinlock_t page_table_lock;
	struct vm_area_struct *vmas[MAX_VMAS];	/* sorted, under mmap_lock */
	int nr_vmas;
	unsigned long cpumask;	/* CPUs that may cache its translations */
	int tlb_flush_pending;
	long rss_anon;
	struct mmu_notifier_subscriptions *notifier_subscriptions;
	bool dead;		/* exit_mmap() has torn it down */
	int mm_users;		/* the process and mmget() users */
	/* try_to_unmap(TTU_BATCH_FLUSH) owes a flush (never set here) */
	bool tlb_flush_batched;
	/* fork write-protects under this seqcount: GUP-fast pins back off */
	unsigned int write_protect_seq;
	bool has_pinned;	/* MMF_HAS_PINNED: a FOLL_PIN ever happened */
};

static inline unsigned long mm_cpumask(struct mm_struct *mm)
{
	return READ_ONCE(mm->cpumask);
}

#define mmap_read_lock(mm) __down_read(&(mm)->mmap_lock, "mmap_read_lock", __func__)
#define mmap_read_unlock(mm) __up_read(&(mm)->mmap_lock, "mmap_read_unlock", __func__)
#define mmap_write_lock(mm) __down_write(&(mm)->mmap_lock, "mmap_write_lock", __func__)
#define mmap_write_unlock(mm) __up_write(&(mm)->mmap_lock, "mmap_write_unlock", __func__)
/* As the kernel without lockdep: someone holds it. */
#define mmap_assert_locked(mm) VM_BUG_ON(!rwsem_is_locked(&(mm)->mmap_lock))
#define mmap_write_downgrade(mm) \
	__downgrade_write(&(mm)->mmap_lock, "mmap_write_downgrade", __func__)

static inline bool vma_is_anonymous(struct vm_area_struct *vma)
{
	(void)vma;
	return true;	/* only anonymous private mappings so far */
}

static inline bool is_vm_hugetlb_page(struct vm_area_struct *vma)
{
	return vma->vm_flags & VM_HUGETLB;
}

static inline bool vma_is_dax(struct vm_area_struct *vma)
{
	(void)vma;
	return false;
}

static inline unsigned long linear_page_index(struct vm_area_struct *vma,
					      unsigned long addr)
{
	return ((addr - vma->vm_start) >> PAGE_SHIFT) + vma->vm_pgoff;
}

static inline bool is_cow_mapping(unsigned long flags)
{
	return (flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE;
}

static inline pte_t maybe_mkwrite(pte_t pte, struct vm_area_struct *vma)
{
	if (READ_ONCE(vma->vm_flags) & VM_WRITE)
		pte = pte_mkwrite(pte);
	return pte;
}

struct mm_struct *mm_alloc(int id);
struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr);

/* The VMA that contains @addr, or NULL (find_vma() may return one above). */
static inline struct vm_area_struct *vma_lookup(struct mm_struct *mm,
						unsigned long addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	if (vma && addr < vma->vm_start)
		vma = NULL;
	return vma;
}

/* mempolicy.h: may the pages of @vma move between nodes? */
static inline bool vma_migratable(struct vm_area_struct *vma)
{
	if (vma->vm_flags & (VM_IO | VM_PFNMAP))
		return false;
	if (vma_is_dax(vma))
		return false;
	return true;
}
struct page *vm_normal_page(struct vm_area_struct *vma, unsigned long addr,
			    pte_t pte);

static inline void inc_mm_counter(struct mm_struct *mm)
{
	__atomic_add_fetch(&mm->rss_anon, 1, __ATOMIC_RELAXED);
}
static inline void dec_mm_counter(struct mm_struct *mm)
{
	__atomic_sub_fetch(&mm->rss_anon, 1, __ATOMIC_RELAXED);
}
static inline bool check_stable_address_space(struct mm_struct *mm)
{
	return READ_ONCE(mm->dead);
}
static inline bool userfaultfd_missing(struct vm_area_struct *vma)
{
	(void)vma;
	return false;
}
static inline int mem_cgroup_charge(struct folio *f, struct mm_struct *mm,
				    int gfp)
{
	(void)f, (void)mm, (void)gfp;
	return 0;
}
#define GFP_KERNEL 0
static inline void update_mmu_cache(struct vm_area_struct *vma,
				    unsigned long addr, pte_t *ptep)
{
	(void)vma, (void)addr, (void)ptep;
}
static inline void arch_enter_lazy_mmu_mode(void) {}
static inline void arch_leave_lazy_mmu_mode(void) {}

/* ---- faults (mm/memory.c) ---- */
#define FAULT_FLAG_WRITE 0x01
#define FAULT_FLAG_USER 0x40
#define FAULT_FLAG_UNSHARE 0x800	/* R/O pin: make the anon page exclusive */

#define VM_FAULT_OOM 0x000001
#define VM_FAULT_SIGBUS 0x000002
#define VM_FAULT_SIGSEGV 0x000040
#define VM_FAULT_RETRY 0x000400
#define VM_FAULT_ERROR (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)

/* si_code of a SIGSEGV: no mapping, or a mapping that forbids the access */
#define SI_SEGV_MAPERR 1
#define SI_SEGV_ACCERR 2

struct vm_fault {
	struct vm_area_struct *vma;
	unsigned long address;
	unsigned int flags;
	pmd_t *pmd;
	pte_t *pte;
	pte_t orig_pte;
	spinlock_t *ptl;
	struct page *page;
};

int handle_mm_fault(struct vm_area_struct *vma, unsigned long address,
		    unsigned int flags);
/* The user-fault path: mmap_lock, find_vma, handle_mm_fault. */
int do_user_addr_fault(struct mm_struct *mm, unsigned long address,
		       bool write);

/* ---- zap (mm/memory.c) and mmu_gather (mm/mmu_gather.c) ---- */
#define MMU_GATHER_BATCH 16

struct mmu_gather {
	struct mm_struct *mm;
	unsigned long start, end;	/* range needing a flush */
	bool fullmm;
	bool need_flush_all;
	struct page *pages[MMU_GATHER_BATCH];
	int nr;
	struct pte_table *tables[MMU_GATHER_BATCH];
	int nr_tables;
};

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm);
void tlb_gather_mmu_fullmm(struct mmu_gather *tlb, struct mm_struct *mm);
void tlb_finish_mmu(struct mmu_gather *tlb);
void tlb_start_vma(struct mmu_gather *tlb, struct vm_area_struct *vma);
void tlb_flush_mmu(struct mmu_gather *tlb);
void tlb_flush_mmu_tlbonly(struct mmu_gather *tlb);
void __tlb_remove_tlb_entry(struct mmu_gather *tlb, pte_t *ptep,
			    unsigned long addr, const char *func);
#define tlb_remove_tlb_entry(tlb, ptep, addr) \
	__tlb_remove_tlb_entry(tlb, ptep, addr, __func__)
/* true: batch full, caller must flush */
bool __tlb_remove_page(struct mmu_gather *tlb, struct page *page);
void tlb_remove_table(struct mmu_gather *tlb, struct pte_table *table);
void inc_tlb_flush_pending(struct mm_struct *mm);
void dec_tlb_flush_pending(struct mm_struct *mm);
bool mm_tlb_flush_nested(struct mm_struct *mm);
void flush_tlb_batched_pending(struct mm_struct *mm);

void unmap_page_range(struct mmu_gather *tlb, struct vm_area_struct *vma,
		      unsigned long addr, unsigned long end);
void zap_page_range(struct vm_area_struct *vma, unsigned long start,
		    unsigned long size);
void free_pgtables(struct mmu_gather *tlb, struct mm_struct *mm,
		   unsigned long floor, unsigned long ceiling);

/* ---- syscalls ---- */
#define MADV_DONTNEED 4
#define MADV_FREE 8
#define MADV_COLD 20
#define MADV_PAGEOUT 21

long do_mmap_fixed(struct mm_struct *mm, unsigned long addr,
		   unsigned long len, unsigned long vm_flags);
long do_munmap_syscall(struct mm_struct *mm, unsigned long addr,
		       unsigned long len);
struct madvise_zapped {
	int n;
	unsigned long start[MAX_VMAS], end[MAX_VMAS];
};
long do_madvise(struct mm_struct *mm, unsigned long start, size_t len,
		int behavior, struct madvise_zapped *zapped);
struct mm_struct *dup_mm(struct mm_struct *oldmm, int child_id);
void exit_mmap(struct mm_struct *mm);

/* mm_users (kernel/fork.c): the last mmput() tears the mm down. */
bool mmget_not_zero(struct mm_struct *mm);
bool __mmget_not_zero(struct mm_struct *mm);	/* harness: no preemption point */
void mmput(struct mm_struct *mm);

/* mprotect(2) (mm/mprotect.c), with the mmap lock held for write */
#define PROT_NONE 0x0
#define PROT_READ 0x1
#define PROT_WRITE 0x2
long do_mprotect(struct mm_struct *mm, unsigned long start, size_t len,
		 unsigned long prot);
/* mm/mmap.c helpers shared with mm/mprotect.c (mmap lock held for write) */
int split_vma(struct mm_struct *mm, struct vm_area_struct *vma,
	      unsigned long addr);
struct vm_area_struct *vma_merge(struct mm_struct *mm,
				 struct vm_area_struct *prev,
				 unsigned long addr, unsigned long end,
				 unsigned long vm_flags, struct anon_vma *anon_vma,
				 unsigned long pgoff);
struct vm_area_struct *find_vma_prev(struct mm_struct *mm, unsigned long addr,
				     struct vm_area_struct **pprev);
void vma_set_page_prot(struct vm_area_struct *vma);

#endif
