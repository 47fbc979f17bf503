#ifndef FRONTIER_PROCESS_H
#define FRONTIER_PROCESS_H

/*
 * A child that must not outlive the process that started it: a training stage's
 * `frontier-agent finetune`, whose agent may be killed. An orphan would go on writing the stage
 * folder while the restarted agent resumes the same stage there.
 */

/* Asks the kernel to SIGKILL this process when its parent dies (Linux PR_SET_PDEATHSIG), then
 * checks that the parent is still `expected_parent` (it may have died before the request).
 * Returns 0 when armed and the parent is alive, -1 when the parent is already gone, -2 where
 * the platform has no such request. */
int fk_die_with_parent(int expected_parent);

#endif
