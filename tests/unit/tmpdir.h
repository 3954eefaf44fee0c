/*
 * tmpdir.h - the unit tests' throw-away directories: each test works in a
 * mkdtemp directory of its own, flat, removed afterwards with this.
 */
#ifndef CF_TEST_TMPDIR_H
#define CF_TEST_TMPDIR_H

#include "common/cf.h"

#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

/* Removes dir and the files in it (no subdirectories); a missing dir is fine. */
static inline void remove_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (cf_snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) == CF_OK)
			(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(dir);
}

#endif
