/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ZONE_DEVICE: dev_pagemap with an owner, page_free and migrate_to_ram,
 * a reference count on the pgmap, and memunmap_pages() that waits for the
 * last reference.
 */
#ifndef MIGRACE_MEMREMAP_H
#define MIGRACE_MEMREMAP_H

#include <migrace/mm.h>

enum memory_type {
	MEMORY_DEVICE_PRIVATE = 1,
	MEMORY_DEVICE_COHERENT,
};

struct dev_pagemap;

struct dev_pagemap_ops {
	void (*page_free)(struct page *page);
	int (*migrate_to_ram)(struct vm_fault *vmf);
};

struct dev_pagemap {
	enum memory_type type;
	unsigned long first_pfn, nr_pages;
	const struct dev_pagemap_ops *ops;
	void *owner;
	/* percpu_ref: the initial one, one per allocated page, getters */
	int ref;
	bool killed;	/* percpu_ref_kill(): no new live references */
	bool dead;	/* memunmap_pages() done: any use is a report */
};

static inline bool is_device_private_pgmap(const struct dev_pagemap *pgmap)
{
	return pgmap && pgmap->type == MEMORY_DEVICE_PRIVATE;
}

static inline bool is_device_coherent_pgmap(const struct dev_pagemap *pgmap)
{
	return pgmap && pgmap->type == MEMORY_DEVICE_COHERENT;
}

int memremap_pages(struct dev_pagemap *pgmap);
void memunmap_pages(struct dev_pagemap *pgmap);
void zone_device_page_init(struct page *page);
void free_zone_device_page(struct page *page);
void check_pgmap_alive(struct dev_pagemap *pgmap, const char *what);
void check_page_pgmap_alive(struct page *page, const char *what);
/* A device page whose pgmap went through memunmap_pages(). */
bool pgmap_unmapped(const struct page *page);

struct dev_pagemap *__get_dev_pagemap(unsigned long pfn,
				      struct dev_pagemap *pgmap,
				      const char *func);
void __put_dev_pagemap(struct dev_pagemap *pgmap, const char *func);
#define get_dev_pagemap(pfn, pgmap) __get_dev_pagemap(pfn, pgmap, __func__)
#define put_dev_pagemap(pgmap) __put_dev_pagemap(pgmap, __func__)

#endif
