/**
 * Progress bars for long work, drawn on stderr and only when stderr is a terminal, so that piped
 * output and --json stay clean.
 */
import cliProgress from "cli-progress";

export type ProgressReporter = ((done: number, total: number) => void) & { stop(): void };

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  if (!stream.isTTY) return Object.assign(() => {}, { stop() {} });
  const bar = new cliProgress.SingleBar(
    { stream, format: `${label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left`, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const report = (done: number, total: number) => {
    if (!started) {
      bar.start(total, 0);
      started = true;
    }
    bar.setTotal(total);
    bar.update(done);
  };
  return Object.assign(report, {
    stop() {
      if (started) bar.stop();
    },
  });
}
