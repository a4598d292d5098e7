/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page tables: pgd -> pmd -> pte, allocated on demand.  Each PTE table has
 * its own spinlock (the split PTE lock, "ptl"); the pmd level is protected
 * by mm->page_table_lock.  Tables are freed through RCU so lockless walkers
 * (the hardware walker) stay safe.  Tables are small (8 entries) so that a
 * few pages of user memory already span two PTE tables.
 *
 * PTE encoding follows x86: present, write, accessed (young), dirty,
 * special, soft-dirty, uffd-wp; a non-present non-none entry is a swap
 * entry whose type says what it is (migration, device-private, swap).
 */
#ifndef MIGRACE_PGTABLE_H
#define MIGRACE_PGTABLE_H

#include <migrace/kernel.h>
#include <migrace/page.h>
#include <migrace/spinlock.h>
#include <migrace/rcu.h>

#define PTRS_PER_PTE 8
#define PTRS_PER_PMD 8
#define PTRS_PER_PGD 8
#define PMD_SHIFT (PAGE_SHIFT + 3)
#define PGDIR_SHIFT (PMD_SHIFT + 3)
#define PMD_SIZE (1UL << PMD_SHIFT)
#define PMD_MASK (~(PMD_SIZE - 1))
#define PGDIR_SIZE (1UL << PGDIR_SHIFT)
#define PGDIR_MASK (~(PGDIR_SIZE - 1))

/* The user address space: a window of PTRS_PER_PGD * PGDIR_SIZE bytes. */
#define TASK_UNMAPPED_BASE 0x7f0000000000UL
#define TASK_SIZE (TASK_UNMAPPED_BASE + PTRS_PER_PGD * PGDIR_SIZE)

typedef struct { u64 pte; } pte_t;
typedef struct { u64 pgprot; } pgprot_t;

/* ptes[] first and 64-byte aligned: a pte pointer finds its table. */
struct pte_table {
	pte_t ptes[PTRS_PER_PTE];
	spinlock_t ptl;
	unsigned long addr;	/* first address mapped */
	const struct mm_struct *mm;	/* for reports */
	struct rcu_head rcu;
	/* harness instrumentation: oracle 7's A/D state per slot */
	u8 ad_shadow[PTRS_PER_PTE];
};

static inline struct pte_table *pte_table_of(const pte_t *ptep)
{
	return (struct pte_table *)((uintptr_t)ptep & ~(uintptr_t)63);
}

static inline unsigned long pte_addr_of(const pte_t *ptep)
{
	struct pte_table *t = pte_table_of(ptep);

	return t->addr + ((unsigned long)(ptep - t->ptes) << PAGE_SHIFT);
}

typedef struct { struct pte_table *table; } pmd_t;

struct pmd_table {
	pmd_t pmds[PTRS_PER_PMD];
	unsigned long addr;	/* first address mapped */
	struct rcu_head rcu;
};

static inline struct pmd_table *pmd_table_of(const pmd_t *pmdp)
{
	return (struct pmd_table *)((uintptr_t)pmdp & ~(uintptr_t)63);
}

typedef struct { struct pmd_table *table; } pgd_t;

#define _PAGE_PRESENT BIT(0)
#define _PAGE_RW BIT(1)
#define _PAGE_USER BIT(2)
#define _PAGE_ACCESSED BIT(5)
#define _PAGE_DIRTY BIT(6)
#define _PAGE_SPECIAL BIT(9)
#define _PAGE_UFFD_WP BIT(10)
#define _PAGE_SOFT_DIRTY BIT(11)
#define _PAGE_PFN_SHIFT 12
/* swap ptes: type in bits 1..5, offset from bit 12 */
#define _PAGE_SWP_TYPE_SHIFT 1
#define _PAGE_SWP_TYPE_MASK 0x1fUL
#define _PAGE_SWP_SOFT_DIRTY BIT(7)
#define _PAGE_SWP_UFFD_WP BIT(8)
#define _PAGE_SWP_EXCLUSIVE BIT(6)	/* swap entry of an exclusive anon page */

#define PAGE_NONE ((pgprot_t){ 0 })
#define PAGE_READONLY ((pgprot_t){ _PAGE_PRESENT | _PAGE_USER })
#define PAGE_COPY PAGE_READONLY
#define PAGE_SHARED ((pgprot_t){ _PAGE_PRESENT | _PAGE_USER | _PAGE_RW })

#define __pte(v) ((pte_t){ (v) })
#define pte_val(p) ((p).pte)

static inline bool pte_none(pte_t pte) { return pte.pte == 0; }
static inline bool pte_present(pte_t pte) { return pte.pte & _PAGE_PRESENT; }
static inline bool pte_write(pte_t pte) { return pte.pte & _PAGE_RW; }
static inline bool pte_dirty(pte_t pte) { return pte.pte & _PAGE_DIRTY; }
static inline bool pte_young(pte_t pte) { return pte.pte & _PAGE_ACCESSED; }
static inline bool pte_special(pte_t pte) { return pte.pte & _PAGE_SPECIAL; }
static inline bool pte_soft_dirty(pte_t pte) { return pte.pte & _PAGE_SOFT_DIRTY; }
static inline bool pte_uffd_wp(pte_t pte) { return pte.pte & _PAGE_UFFD_WP; }
static inline unsigned long pte_pfn(pte_t pte)
{
	return pte.pte >> _PAGE_PFN_SHIFT;
}
static inline pte_t pte_mkwrite(pte_t p) { return __pte(p.pte | _PAGE_RW); }
static inline pte_t pte_wrprotect(pte_t p) { return __pte(p.pte & ~_PAGE_RW); }
static inline pte_t pte_mkdirty(pte_t p)
{
	return __pte(p.pte | _PAGE_DIRTY | _PAGE_SOFT_DIRTY);
}
static inline pte_t pte_mkclean(pte_t p) { return __pte(p.pte & ~_PAGE_DIRTY); }
static inline pte_t pte_mkyoung(pte_t p) { return __pte(p.pte | _PAGE_ACCESSED); }
static inline pte_t pte_mkold(pte_t p) { return __pte(p.pte & ~_PAGE_ACCESSED); }
static inline pte_t pte_mkspecial(pte_t p) { return __pte(p.pte | _PAGE_SPECIAL); }
static inline bool pte_same(pte_t a, pte_t b) { return a.pte == b.pte; }

/* What pte_modify() keeps: the pfn, accessed/dirty and software bits. */
#define _PAGE_CHG_MASK (~(u64)((1UL << _PAGE_PFN_SHIFT) - 1) |            \
			_PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_SPECIAL |      \
			_PAGE_SOFT_DIRTY | _PAGE_UFFD_WP)
static inline pte_t pte_modify(pte_t pte, pgprot_t newprot)
{
	return __pte((pte.pte & _PAGE_CHG_MASK) |
		     (newprot.pgprot & ~_PAGE_CHG_MASK));
}

static inline pte_t pfn_pte(unsigned long pfn, pgprot_t prot)
{
	return __pte(((u64)pfn << _PAGE_PFN_SHIFT) | prot.pgprot);
}

static inline pte_t mk_pte(struct page *page, pgprot_t prot)
{
	return pfn_pte(page_to_pfn(page), prot);
}

static inline bool pte_swp_soft_dirty(pte_t p) { return p.pte & _PAGE_SWP_SOFT_DIRTY; }
static inline bool pte_swp_uffd_wp(pte_t p) { return p.pte & _PAGE_SWP_UFFD_WP; }
static inline pte_t pte_swp_mksoft_dirty(pte_t p)
{
	return __pte(p.pte | _PAGE_SWP_SOFT_DIRTY);
}
static inline pte_t pte_swp_mkuffd_wp(pte_t p)
{
	return __pte(p.pte | _PAGE_SWP_UFFD_WP);
}
static inline bool pte_swp_exclusive(pte_t p) { return p.pte & _PAGE_SWP_EXCLUSIVE; }
static inline pte_t pte_swp_mkexclusive(pte_t p)
{
	return __pte(p.pte | _PAGE_SWP_EXCLUSIVE);
}
static inline pte_t pte_swp_clear_exclusive(pte_t p)
{
	return __pte(p.pte & ~_PAGE_SWP_EXCLUSIVE);
}
static inline pte_t pte_mksoft_dirty(pte_t p)
{
	return __pte(p.pte | _PAGE_SOFT_DIRTY);
}
static inline pte_t pte_mkuffd_wp(pte_t p)
{
	return __pte(p.pte | _PAGE_UFFD_WP);
}

/* ---- walking ---- */
struct mm_struct;
struct vm_area_struct;

static inline unsigned long pgd_index(unsigned long addr)
{
	return ((addr - TASK_UNMAPPED_BASE) >> PGDIR_SHIFT) &
	       (PTRS_PER_PGD - 1);
}
static inline unsigned long pmd_index(unsigned long addr)
{
	return (addr >> PMD_SHIFT) & (PTRS_PER_PMD - 1);
}
static inline unsigned long pte_index(unsigned long addr)
{
	return (addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1);
}
static inline unsigned long pmd_addr_end(unsigned long addr, unsigned long end)
{
	unsigned long b = (addr + PMD_SIZE) & PMD_MASK;

	return (b - 1 < end - 1) ? b : end;
}
static inline unsigned long pgd_addr_end(unsigned long addr, unsigned long end)
{
	unsigned long b = (addr + PGDIR_SIZE) & PGDIR_MASK;

	return (b - 1 < end - 1) ? b : end;
}

pgd_t *pgd_offset(struct mm_struct *mm, unsigned long addr);
/* NULL if the pgd entry is empty. */
pmd_t *pmd_offset(pgd_t *pgd, unsigned long addr);
pmd_t *pmd_alloc(struct mm_struct *mm, pgd_t *pgd, unsigned long addr);
/* 0 on success (table present or installed), -ENOMEM */
int pte_alloc(struct mm_struct *mm, pmd_t *pmd);

static inline bool pmd_none(pmd_t pmd) { return pmd.table == NULL; }
static inline bool pmd_trans_huge(pmd_t pmd) { (void)pmd; return false; }
static inline bool pmd_bad(pmd_t pmd) { (void)pmd; return false; }
pmd_t pmdp_get_lockless(pmd_t *pmdp);

spinlock_t *pte_lockptr(struct mm_struct *mm, pmd_t *pmd);
pte_t *__pte_offset_map(pmd_t *pmd, unsigned long addr, const char *func);
pte_t *__pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd,
			     unsigned long addr, spinlock_t **ptlp,
			     const char *func);
void __pte_unmap_unlock(pte_t *pte, spinlock_t *ptl, const char *func);
#define pte_offset_map(pmd, addr) __pte_offset_map(pmd, addr, __func__)
#define pte_offset_map_lock(mm, pmd, addr, ptlp) \
	__pte_offset_map_lock(mm, pmd, addr, ptlp, __func__)
#define pte_unmap_unlock(pte, ptl) __pte_unmap_unlock(pte, ptl, __func__)
#define pte_unmap(pte) ((void)(pte))

/* ---- entry accessors: every one a preemption point ---- */
pte_t __ptep_get(pte_t *ptep, const char *func);
void __set_pte_at(struct mm_struct *mm, unsigned long addr, pte_t *ptep,
		  pte_t pte, const char *func);
pte_t __ptep_get_and_clear(struct mm_struct *mm, unsigned long addr,
			   pte_t *ptep, const char *what, const char *func);
pte_t __ptep_clear_flush(struct vm_area_struct *vma, unsigned long addr,
			 pte_t *ptep, const char *func);
void __ptep_set_wrprotect(struct mm_struct *mm, unsigned long addr,
			  pte_t *ptep, const char *func);
bool __ptep_cmpxchg(pte_t *ptep, pte_t old, pte_t new, unsigned long addr,
		    const char *what, const char *func);

#define ptep_get(ptep) __ptep_get(ptep, __func__)
#define set_pte_at(mm, addr, ptep, pte) \
	__set_pte_at(mm, addr, ptep, pte, __func__)
#define ptep_get_and_clear(mm, addr, ptep) \
	__ptep_get_and_clear(mm, addr, ptep, "ptep_get_and_clear", __func__)
#define ptep_get_and_clear_full(mm, addr, ptep, full) \
	__ptep_get_and_clear(mm, addr, ptep, "ptep_get_and_clear_full", __func__)
#define pte_clear_not_present_full(mm, addr, ptep, full)                    \
	((void)__ptep_get_and_clear(mm, addr, ptep,                         \
				    "pte_clear_not_present_full", __func__))
#define ptep_clear_flush(vma, addr, ptep) \
	__ptep_clear_flush(vma, addr, ptep, __func__)
#define ptep_set_wrprotect(mm, addr, ptep) \
	__ptep_set_wrprotect(mm, addr, ptep, __func__)

/* The page table entry lives in a table that is still alive. */
void check_pte_table(pte_t *ptep, const char *what);

/* ---- swap entries ---- */
typedef struct { unsigned long val; } swp_entry_t;

enum {
	SWP_SWAPFILE = 1,
	SWP_DEVICE_WRITE,
	SWP_DEVICE_READ,
	SWP_DEVICE_EXCLUSIVE_WRITE,
	SWP_DEVICE_EXCLUSIVE_READ,
	SWP_MIGRATION_READ,
	SWP_MIGRATION_READ_EXCLUSIVE,
	SWP_MIGRATION_WRITE,
};

static inline swp_entry_t swp_entry(unsigned int type, unsigned long offset)
{
	return (swp_entry_t){ ((unsigned long)type << 56) | offset };
}
static inline unsigned int swp_type(swp_entry_t e) { return e.val >> 56; }
static inline unsigned long swp_offset(swp_entry_t e)
{
	return e.val & ((1UL << 56) - 1);
}
static inline bool is_swap_pte(pte_t pte)
{
	return !pte_none(pte) && !pte_present(pte);
}
static inline swp_entry_t pte_to_swp_entry(pte_t pte)
{
	unsigned long type = (pte.pte >> _PAGE_SWP_TYPE_SHIFT) &
			     _PAGE_SWP_TYPE_MASK;

	return swp_entry(type, pte.pte >> _PAGE_PFN_SHIFT);
}
static inline pte_t swp_entry_to_pte(swp_entry_t e)
{
	return __pte(((u64)swp_type(e) << _PAGE_SWP_TYPE_SHIFT) |
		     ((u64)swp_offset(e) << _PAGE_PFN_SHIFT));
}

/*
 * Migration entries remember the young and dirty bits of the pte they
 * replaced, in offset bits above the pfn (include/linux/swapops.h).
 */
#define SWP_PFN_BITS 50
#define SWP_PFN_MASK ((1UL << SWP_PFN_BITS) - 1)
#define SWP_MIG_YOUNG_BIT SWP_PFN_BITS
#define SWP_MIG_DIRTY_BIT (SWP_PFN_BITS + 1)

static inline unsigned long swp_offset_pfn(swp_entry_t e)
{
	return swp_offset(e) & SWP_PFN_MASK;
}

static inline bool is_migration_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_MIGRATION_READ ||
	       swp_type(e) == SWP_MIGRATION_READ_EXCLUSIVE ||
	       swp_type(e) == SWP_MIGRATION_WRITE;
}
static inline bool is_writable_migration_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_MIGRATION_WRITE;
}
static inline bool is_readable_migration_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_MIGRATION_READ;
}
static inline bool is_readable_exclusive_migration_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_MIGRATION_READ_EXCLUSIVE;
}
static inline bool is_device_private_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_DEVICE_WRITE ||
	       swp_type(e) == SWP_DEVICE_READ;
}
static inline bool is_writable_device_private_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_DEVICE_WRITE;
}
static inline bool is_device_exclusive_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_DEVICE_EXCLUSIVE_WRITE ||
	       swp_type(e) == SWP_DEVICE_EXCLUSIVE_READ;
}
static inline bool non_swap_entry(swp_entry_t e)
{
	return swp_type(e) != SWP_SWAPFILE;
}
static inline bool is_pfn_swap_entry(swp_entry_t e)
{
	return is_migration_entry(e) || is_device_private_entry(e) ||
	       is_device_exclusive_entry(e);
}
static inline struct page *pfn_swap_entry_to_page(swp_entry_t e)
{
	return pfn_to_page(swp_offset_pfn(e));
}
static inline bool migration_entry_supports_ad(void)
{
	return true;	/* x86: the swap offset has room for both bits */
}
static inline swp_entry_t make_migration_entry_young(swp_entry_t e)
{
	if (migration_entry_supports_ad())
		return swp_entry(swp_type(e),
				 swp_offset(e) | BIT(SWP_MIG_YOUNG_BIT));
	return e;
}
static inline bool is_migration_entry_young(swp_entry_t e)
{
	if (migration_entry_supports_ad())
		return swp_offset(e) & BIT(SWP_MIG_YOUNG_BIT);
	return true;	/* keep the old behaviour: young */
}
static inline swp_entry_t make_migration_entry_dirty(swp_entry_t e)
{
	if (migration_entry_supports_ad())
		return swp_entry(swp_type(e),
				 swp_offset(e) | BIT(SWP_MIG_DIRTY_BIT));
	return e;
}
static inline bool is_migration_entry_dirty(swp_entry_t e)
{
	if (migration_entry_supports_ad())
		return swp_offset(e) & BIT(SWP_MIG_DIRTY_BIT);
	return false;
}
static inline swp_entry_t make_readable_migration_entry(unsigned long pfn)
{
	return swp_entry(SWP_MIGRATION_READ, pfn);
}
static inline swp_entry_t
make_readable_exclusive_migration_entry(unsigned long pfn)
{
	return swp_entry(SWP_MIGRATION_READ_EXCLUSIVE, pfn);
}
static inline swp_entry_t make_writable_migration_entry(unsigned long pfn)
{
	return swp_entry(SWP_MIGRATION_WRITE, pfn);
}
static inline bool is_writable_device_exclusive_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_DEVICE_EXCLUSIVE_WRITE;
}
static inline swp_entry_t
make_readable_device_exclusive_entry(unsigned long pfn)
{
	return swp_entry(SWP_DEVICE_EXCLUSIVE_READ, pfn);
}
static inline swp_entry_t
make_writable_device_exclusive_entry(unsigned long pfn)
{
	return swp_entry(SWP_DEVICE_EXCLUSIVE_WRITE, pfn);
}
static inline swp_entry_t make_readable_device_private_entry(unsigned long pfn)
{
	return swp_entry(SWP_DEVICE_READ, pfn);
}
static inline swp_entry_t make_writable_device_private_entry(unsigned long pfn)
{
	return swp_entry(SWP_DEVICE_WRITE, pfn);
}

#endif
