/*
 * image_config.h: the container config of an image (Env, Cmd, Entrypoint,
 * WorkingDir, User, ExposedPorts, Volumes, Labels, StopSignal, ...) and how
 * a new one is laid over a base image's, as a Dockerfile's FROM does.
 */
#ifndef DI_IMAGE_CONFIG_H
#define DI_IMAGE_CONFIG_H

#include <jv.h>

/*
 * OVER laid on BASE (both consumed; objects, or null or an invalid, as
 * json_get gives for a key that is absent, for none): each key
 * of OVER replaces BASE's, except that Env is merged by variable name
 * (OVER's value wins), Labels, ExposedPorts and Volumes are merged by key,
 * a null value removes the key, and a new Entrypoint drops BASE's Cmd.
 * Returns the result, or an invalid with a message when a value has the
 * wrong type.
 */
jv image_config_merge(jv base, jv over);

/*
 * CONFIG (consumed, an object) with Docker's default PATH added to its
 * Env when no variable there is PATH, as docker build writes it: without
 * one, runtimes that do not add their own (containerd with an Env) find
 * no program by a bare name.  An Env that is not an array of strings is
 * left as it is.
 */
#define IMAGE_CONFIG_DEFAULT_PATH                                              \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
jv image_config_default_path(jv config);

/* "1970-01-01T00:00:01Z" for T = 1: the RFC 3339 time of a config. */
void image_config_time(long long t, char buf[32]);

#endif
