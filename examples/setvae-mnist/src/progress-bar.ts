// Training progress on stderr: a redrawn bar on a TTY, plain periodic lines otherwise (CI logs).
import type { TrainProgress } from '@setgen/models';

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

export class ProgressBar {
  private readonly tty = Boolean(process.stderr.isTTY);
  private lastLine = 0;

  constructor(
    private readonly totalSteps: number,
    private readonly firstStep = 0,
    private readonly everySeconds = 10,
  ) {}

  update(p: TrainProgress): void {
    const done = p.step - this.firstStep;
    const fraction = Math.min(1, done / this.totalSteps);
    const eta = (this.totalSteps - done) / p.stepsPerSecond;
    const terms = `loss ${p.losses.total.toFixed(3)}  CD ${p.losses.recon.toFixed(3)}  KL ${p.losses.kl.toFixed(1)}  β ${(p.weights.kl ?? 0).toExponential(1)}`;
    const speed = `${p.stepsPerSecond.toFixed(2)} it/s  eta ${formatSeconds(eta)}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round(fraction * width);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      const line = `\r${bar} ${String(done).padStart(5)}/${this.totalSteps} ep ${p.epoch.toFixed(2)}  ${terms}  ${speed}`;
      process.stderr.write(
        line.padEnd(process.stderr.columns ?? 120).slice(0, (process.stderr.columns ?? 120) - 1),
      );
      if (done >= this.totalSteps) process.stderr.write('\n');
      return;
    }
    const now = performance.now();
    if (done >= this.totalSteps || done === 1 || now - this.lastLine >= this.everySeconds * 1000) {
      this.lastLine = now;
      process.stderr.write(
        `step ${done}/${this.totalSteps} (epoch ${p.epoch.toFixed(2)})  ${terms}  ${speed}\n`,
      );
    }
  }

  /** Ends a bar that stopped early (abort). */
  finish(): void {
    if (this.tty) process.stderr.write('\n');
  }
}
