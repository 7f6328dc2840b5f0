/*
 * image_history.c: an image config's history, grouped by the layer each
 * entry made (see image_history.h).
 */
#include <stdlib.h>

#include "image_history.h"
#include "json.h"

static int
is_empty(jv entry)
{
	jv e = json_get(jv_copy(entry), "empty_layer");
	int empty = jv_get_kind(e) == JV_KIND_TRUE;

	jv_free(e);
	return empty;
}

int
image_history_layers(jv history)
{
	int n = 0;

	if (jv_get_kind(history) != JV_KIND_ARRAY)
		return -1;
	jv_array_foreach(history, i, e)
	{
		n += !is_empty(e);
		jv_free(e);
	}
	return n;
}

/* One entry per layer, for an image that did not say what made them. */
static jv
made_up(jv config, size_t nlayers)
{
	jv groups = jv_array(), created = json_get(jv_copy(config), "created");

	for (size_t i = 0; i < nlayers; i++) {
		jv e = jv_object();
		if (jv_get_kind(created) == JV_KIND_STRING)
			e = jv_object_set(e, jv_string("created"),
			                  jv_copy(created));
		groups =
		    jv_array_append(groups, jv_array_append(jv_array(), e));
	}
	jv_free(created);
	return jv_array_append(groups, jv_array());
}

jv
image_history_groups(jv config, size_t nlayers)
{
	jv h = json_get(jv_copy(config), "history");
	jv groups = jv_array(), group = jv_array();

	if (image_history_layers(h) != (int)nlayers) {
		jv_free(h);
		return made_up(config, nlayers);
	}
	jv_array_foreach(h, i, e)
	{
		int empty = is_empty(e);
		group = jv_array_append(group, e);
		if (!empty) {
			groups = jv_array_append(groups, group);
			group = jv_array();
		}
	}
	jv_free(h);
	return jv_array_append(groups, group);
}

jv
image_history_empties(jv group)
{
	int n = jv_array_length(jv_copy(group));

	return n > 0 ? jv_array_slice(group, 0, n - 1) : group;
}

jv
image_history_entry(const char *created, const char *by)
{
	jv e = jv_object();

	e = jv_object_set(e, jv_string("created"), jv_string(created));
	return jv_object_set(e, jv_string("created_by"), jv_string(by));
}
