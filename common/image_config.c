/* image_config.c: laying one container config over another. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "image_config.h"
#include "json.h"

/* Is V an array of strings? */
static int
string_array(jv v)
{
	int ok = jv_get_kind(v) == JV_KIND_ARRAY;

	if (!ok)
		return 0;
	jv_array_foreach(v, i, s)
	{
		ok = ok && jv_get_kind(s) == JV_KIND_STRING;
		jv_free(s);
	}
	return ok;
}

/* The length of the name part of "NAME=value". */
static size_t
env_name_len(const char *s)
{
	return strcspn(s, "=");
}

/* The index in ENV of the variable named as in VAR, or -1. */
static int
env_find(jv env, const char *var)
{
	size_t n = env_name_len(var);
	int found = -1;

	jv_array_foreach(env, i, e)
	{
		const char *s = jv_string_value(e);
		if (found < 0 && env_name_len(s) == n &&
		    strncmp(s, var, n) == 0)
			found = i;
		jv_free(e);
	}
	return found;
}

/* BASE with OVER's variables set: in their place if BASE has them. */
static jv
merge_env(jv base, jv over)
{
	jv_array_foreach(over, i, o)
	{
		int at = env_find(base, jv_string_value(o));
		if (at >= 0)
			base = jv_array_set(base, at, o);
		else
			base = jv_array_append(base, o);
	}
	jv_free(over);
	return base;
}

static jv
merge_object(jv base, jv over)
{
	jv_object_foreach(over, k, v)
	{
		if (jv_get_kind(v) == JV_KIND_NULL) {
			base = jv_object_delete(base, k);
			jv_free(v);
		} else {
			base = jv_object_set(base, k, v);
		}
	}
	jv_free(over);
	return base;
}

static int
merged_by_key(const char *key)
{
	return strcmp(key, "Labels") == 0 || strcmp(key, "ExposedPorts") == 0 ||
	       strcmp(key, "Volumes") == 0;
}

/* Lay OVER's value V for KEY on OUT; an invalid when V is mistyped. */
static jv
lay_key(jv out, const char *key, jv v)
{
	jv old = json_get(jv_copy(out), key);

	if (strcmp(key, "Env") == 0 && !string_array(v)) {
		jv_free(old);
		jv_free(v);
		jv_free(out);
		return jv_invalid_with_msg(jv_string("Env is not an array of "
		                                     "strings"));
	}
	if (strcmp(key, "Env") == 0 && string_array(old))
		v = merge_env(old, v);
	else if (merged_by_key(key) && jv_get_kind(v) == JV_KIND_OBJECT &&
	         jv_get_kind(old) == JV_KIND_OBJECT)
		v = merge_object(old, v);
	else
		jv_free(old);
	return jv_object_set(out, jv_string(key), v);
}

jv
image_config_merge(jv base, jv over)
{
	jv out;

	/* An image config's "config" is optional: absent is none. */
	if (!jv_is_valid(base) || jv_get_kind(base) == JV_KIND_NULL) {
		jv_free(base);
		base = jv_object();
	}
	if (!jv_is_valid(over) || jv_get_kind(over) == JV_KIND_NULL) {
		jv_free(over);
		over = jv_object();
	}
	if (jv_get_kind(base) != JV_KIND_OBJECT ||
	    jv_get_kind(over) != JV_KIND_OBJECT) {
		jv_free(base);
		jv_free(over);
		return jv_invalid_with_msg(jv_string("the config is not an "
		                                     "object"));
	}
	out = base;
	if (jv_object_has(jv_copy(over), jv_string("Entrypoint")) &&
	    !jv_object_has(jv_copy(over), jv_string("Cmd")))
		out = jv_object_delete(out, jv_string("Cmd"));
	jv_object_foreach(over, k, v)
	{
		if (jv_get_kind(v) == JV_KIND_NULL) {
			out = jv_object_delete(out, k);
			jv_free(v);
			continue;
		}
		out = lay_key(out, jv_string_value(k), v);
		jv_free(k);
		if (!jv_is_valid(out))
			break;
	}
	jv_free(over);
	return out;
}

jv
image_config_default_path(jv config)
{
	jv env = json_get(jv_copy(config), "Env");

	if (!jv_is_valid(env) || jv_get_kind(env) == JV_KIND_NULL) {
		jv_free(env);
		env = jv_array();
	}
	if (!string_array(env) || env_find(env, "PATH=") >= 0) {
		jv_free(env);
		return config;
	}
	env = jv_array_append(env, jv_string(IMAGE_CONFIG_DEFAULT_PATH));
	return jv_object_set(config, jv_string("Env"), env);
}

void
image_config_time(long long t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		errx(EXIT_DATA, "time %lld out of range", t);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
