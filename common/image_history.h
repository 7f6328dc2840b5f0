/*
 * image_history.h: an image config's history, grouped by layer.
 *
 * History entries with "empty_layer": true made no layer (ENV, CMD, ...);
 * each other entry made one layer, bottom first.  An edit that drops,
 * inserts or moves layers moves their groups: a layer's group is the
 * empty entries just before its own entry and that entry, so the
 * instructions that came with a layer stay with it, and rootfs.diff_ids
 * and history stay consistent.
 */
#ifndef DI_IMAGE_HISTORY_H
#define DI_IMAGE_HISTORY_H

#include <jv.h>
#include <stddef.h>

/*
 * The history of CONFIG (borrowed) split into NLAYERS + 1 arrays: one
 * group per layer, then the empty entries after the top layer.  When the
 * history is missing or does not count NLAYERS layer entries, each layer
 * gets one entry of its own ({"created": the config's}).
 */
jv image_history_groups(jv config, size_t nlayers);

/* GROUP's empty entries (all but its last one): what a dropped layer
 * leaves. */
jv image_history_empties(jv group);

/* A new layer's entry: {"created": CREATED, "created_by": BY}. */
jv image_history_entry(const char *created, const char *by);

/* How many entries of HISTORY (borrowed) made a layer; -1: not an array. */
int image_history_layers(jv history);

#endif
