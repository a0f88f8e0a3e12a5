// A git repository in a temp project, for the commands that compare with a committed pipeline.lock.
import { execFileSync } from 'node:child_process';

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', '-c', 'commit.gpgsign=false', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function commitAll(cwd: string, message: string): void {
  git(cwd, 'add', '-A', '.');
  git(cwd, 'commit', '-q', '-m', message);
}

export function initRepo(cwd: string): void {
  git(cwd, 'init', '-q');
}
