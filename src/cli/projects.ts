import type { Command } from 'commander';
import type { Project } from '../browserbase/index.js';
import { action, addAccountOption, addConfigOptions } from './toolkit/command.js';
import { EXIT } from './toolkit/exit-codes.js';
import { printJson, printOut } from './toolkit/output.js';
import { displayText, formatTable } from './toolkit/table.js';
import { addReadCommand, retried, withClient, type Opts } from './toolkit/api-client.js';
import type { SettingName } from '../config/index.js';
import { printable } from '../shared/printable.js';

/** `bb-reaper projects list | get <id> | usage <id>`: the API key's projects (reads, retried on 429/5xx). */
export function register(program: Command): void {
  const projects = program
    .command('projects')
    .summary('list projects, show one, or its usage')
    .description('Read the API key\'s Browserbase projects (needs BROWSERBASE_API_KEY). Reads are retried on 429/5xx.');
  const withConfig = (c: Command) => addAccountOption(addConfigOptions(c, ['apiKey', 'baseUrl']));

  withConfig(projects.command('list').description('List the projects: id, name, concurrency, default timeout.').option('--json', 'print the API\'s JSON')).action(
    action(async (opts: Opts) =>
      withClient(opts, async (client) => {
        const list = await retried(() => client.listProjects());
        if (opts.json) {
          printJson(list, 2);
          return EXIT.OK;
        }
        printOut(`${list.length} project${list.length === 1 ? '' : 's'}\n`);
        if (list.length > 0) {
          printOut(
            formatTable(
              ['PROJECT', 'NAME', 'CONCURRENCY', 'DEFAULT TIMEOUT'],
              list.map((p) => [displayText(p.id), displayText(p.name) || '-', displayText(p.concurrency) || '-', seconds(p.defaultTimeout)]),
            ),
          );
        }
        return EXIT.OK;
      }),
    ),
  );

  const spec = (name: string, description: string) => ({ name, description, id: 'project id', settings: ['apiKey', 'baseUrl'] as SettingName[] });
  addReadCommand(projects, spec('get', 'Show one project.'), (client, id) => client.getProject(id), (p) => printOut(describeProject(p)));
  addReadCommand(
    projects,
    spec('usage', "Show a project's usage: browser minutes and proxy bytes."),
    (client, id) => client.getProjectUsage(id),
    (u) => printOut(`browserMinutes  ${printable(displayText(u.browserMinutes))}\nproxyBytes      ${printable(displayText(u.proxyBytes))}\n`),
  );
}

/** `3600s`, or the value as the API gave it when it is not a number. */
function seconds(value: unknown): string {
  return typeof value === 'number' ? `${value}s` : displayText(value) || '-';
}

/** The human form of a project; every field is from the API, so each is made printable (a newline in one cannot start a fake line). */
function describeProject(p: Project): string {
  const rows: Array<[string, string]> = [
    ['id', displayText(p.id)],
    ['name', displayText(p.name)],
    ['concurrency', displayText(p.concurrency)],
    ['defaultTimeout', seconds(p.defaultTimeout)],
    ['ownerId', displayText(p.ownerId)],
    ['createdAt', displayText(p.createdAt)],
    ['updatedAt', displayText(p.updatedAt)],
  ];
  return rows.map(([k, v]) => `${k.padEnd(15)} ${printable(v || '-')}`).join('\n') + '\n';
}
