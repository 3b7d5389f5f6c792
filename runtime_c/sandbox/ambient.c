/* Ambient authority: the only sandbox calls that take a host path as it is.
 *
 * ====================================================================================
 *  SANDBOX-CRITICAL.  Changes need a second reviewer.
 * ====================================================================================
 *
 * Granting a directory is the one moment the runtime acts with the process's
 * own authority: the user named the path (--dir), so it is opened as given,
 * following symlinks the user may have put in it.  From then on the guest only
 * ever holds the resulting handle, and everything below it goes through
 * sandbox_open.  Nothing the guest controls reaches this file.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int sandbox_open_dir_ambient(const char *host_path) {
  /* O_PATH: the handle only names the directory (no read permission needed,
   * and it cannot be read or written through); O_DIRECTORY: refuse a
   * non-directory grant now rather than at first use. */
  int fd = open(host_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}
