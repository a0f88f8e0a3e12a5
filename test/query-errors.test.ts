import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture();
});
afterAll(() => fixture.cleanup());

describe('pipeline query with bad SQL', () => {
  test('a syntax error prints DuckDB\'s message and exits 2', async () => {
    const { code, stdout, stderr } = await runCli(['query', 'SELECT max(price FROM aggregate.daily'], fixture.root);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^pipeline query: Parser Error: syntax error at or near "FROM"/);
  });

  test('an unknown column prints DuckDB\'s binder message with its suggestion', async () => {
    const { code, stderr } = await runCli(['query', 'SELECT prise FROM aggregate.daily'], fixture.root);
    expect(code).toBe(2);
    expect(stderr).toMatch(/Binder Error: Referenced column "prise" not found/);
    expect(stderr).toMatch(/"price"/);
  });

  test('an unknown table lists the artifact tables', async () => {
    const { code, stderr } = await runCli(['query', 'SELECT * FROM aggregate.weekly'], fixture.root);
    expect(code).toBe(2);
    expect(stderr).toMatch(/Catalog Error/);
    expect(stderr).toMatch(/artifact tables: ingest\.minutes, aggregate\.daily, scale\.scaled, split\.train, split\.test, evaluate\.predictions, evaluate\.seeds, backtest\.predictions\n$/);
  });

  test('a table whose artifact is not produced yet exits 1 and names the stage', async () => {
    const { code, stderr } = await runCli(['query', 'SELECT * FROM scale.scaled'], fixture.root);
    expect(code).toBe(1);
    expect(stderr).toMatch(/scale\.scaled: .*artifacts\/scale\/scaled\.arrow does not exist yet; run "pipeline run scale" first/);
  });

  test('querying a stale artifact warns on stderr and still answers', async () => {
    const { code, stdout, stderr } = await runCli(['query', 'SELECT count(*) AS n FROM evaluate.predictions', '--csv'], fixture.root);
    expect(code).toBe(0);
    expect(stdout).toBe('n\n10\n');
    expect(stderr).toMatch(/^warning: evaluate is stale/);
  });
});
