/**
 * The physics of one simulated device: what its sensors would read at a given device time. Pure apart from
 * the device's own state and random stream, so a device's series depends only on the seed and its index.
 */
import type { Rng } from './random.ts';

const HOUR_MS = 3_600_000;
const DAY_HOURS = 24;

/** Firmware the fleet runs, oldest first; a reboot may upgrade a device one step. */
export const FIRMWARE_VERSIONS = ['2.3.7', '2.4.0', '2.4.1', '2.5.0'] as const;

export interface DeviceProfile {
  readonly index: number;
  readonly deviceId: string;
  /** Where in the reporting interval this device reports, ms: devices do not report in lockstep. */
  readonly phaseOffsetMs: number;
  /** Hours added to UTC to get the device's local solar time (where it is on the map). */
  readonly utcOffsetHours: number;
  readonly climate: {
    readonly meanTempC: number;
    /** Half the peak-to-trough swing of the daily cycle. */
    readonly dailySwingC: number;
    /** Local hour of the daily maximum (mid-afternoon outdoors). */
    readonly warmestHour: number;
    readonly meanHumidityPct: number;
    /** Relative humidity falls as air warms at constant moisture, roughly 2–3 %RH per °C near 20 °C. */
    readonly humidityPctPerDegree: number;
  };
  readonly battery: {
    readonly emptyV: number;
    readonly fullV: number;
    /** State-of-charge lost per hour at the device's mean load, as a fraction. */
    readonly drainPerHour: number;
    readonly chargePerHour: number;
    /** Charging starts below this state of charge and stops at `chargeUntil`. */
    readonly chargeBelow: number;
    readonly chargeUntil: number;
  };
  readonly load: {
    readonly baseW: number;
    /** Extra draw at the daily peak (a Gaussian bump around `peakHour`). */
    readonly peakW: number;
    readonly peakHour: number;
    readonly peakWidthHours: number;
  };
  /** Mean device time between reboots, hours (a Poisson process). */
  readonly meanHoursBetweenReboots: number;
}

export interface Reading {
  readonly deviceId: string;
  readonly deviceIndex: number;
  readonly seq: number;
  readonly tsMs: number;
  readonly firmware: string;
  readonly metrics: { temperatureC: number; humidityPct: number; batteryV: number; energyWh: number };
  /** The device rebooted just before this reading: `energyWh` restarted near zero. */
  readonly rebooted: boolean;
}

export function deviceIdOf(index: number): string {
  return `dev-${String(index).padStart(6, '0')}`;
}

export function createDeviceProfile(
  index: number,
  rng: Rng,
  intervalMs: number,
  meanHoursBetweenReboots: number,
): DeviceProfile {
  return {
    index,
    deviceId: deviceIdOf(index),
    phaseOffsetMs: Math.floor(rng.uniform(0, intervalMs)),
    utcOffsetHours: rng.uniform(-3, 3),
    climate: {
      meanTempC: rng.uniform(8, 26),
      dailySwingC: rng.uniform(2.5, 7),
      warmestHour: rng.uniform(14, 16.5),
      meanHumidityPct: rng.uniform(40, 70),
      humidityPctPerDegree: rng.uniform(1.5, 3),
    },
    battery: {
      emptyV: 3.3,
      fullV: 4.15,
      drainPerHour: rng.uniform(0.01, 0.04),
      chargePerHour: rng.uniform(0.15, 0.35),
      chargeBelow: rng.uniform(0.15, 0.3),
      chargeUntil: rng.uniform(0.9, 0.98),
    },
    load: {
      baseW: rng.uniform(2, 15),
      peakW: rng.uniform(5, 60),
      peakHour: rng.uniform(8, 20),
      peakWidthHours: rng.uniform(1.5, 4),
    },
    meanHoursBetweenReboots,
  };
}

const round = (value: number, step: number): number => Math.round(value / step) * step;
/** Rounds to a sensor's resolution and strips float noise (0.1 + 0.2) from the printed value. */
const quantize = (value: number, decimals: number): number =>
  Number(round(value, 10 ** -decimals).toFixed(decimals));

/** Hours between `hour` and `center` on the 24-hour circle, in (-12, 12]. */
function hoursFrom(hour: number, center: number): number {
  let d = (hour - center) % DAY_HOURS;
  if (d > DAY_HOURS / 2) d -= DAY_HOURS;
  if (d <= -DAY_HOURS / 2) d += DAY_HOURS;
  return d;
}

/**
 * Ornstein–Uhlenbeck step: weather wanders around zero with a memory of `tauHours`. The exact discrete
 * update keeps the stationary spread at `sd` whatever the reporting interval.
 */
function weatherStep(value: number, dtHours: number, tauHours: number, sd: number, rng: Rng): number {
  const keep = Math.exp(-dtHours / tauHours);
  return value * keep + sd * Math.sqrt(1 - keep * keep) * rng.normal();
}

/** Counters below this are too fresh to reboot again: keeps each reset a clear drop to < 10 %. */
const MIN_ENERGY_BEFORE_REBOOT_WH = 20;

/** One device's evolving state. `next(tsMs)` returns its reading at that device time. */
export class DeviceSignals {
  private seq = 0;
  private lastTsMs: number | undefined;
  private tempWeather: number;
  private humidityWeather: number;
  private stateOfCharge: number;
  private charging = false;
  private energyWh: number;
  private firmwareIndex: number;

  constructor(
    readonly profile: DeviceProfile,
    private readonly rng: Rng,
  ) {
    this.tempWeather = rng.normal(0, 1.5);
    this.humidityWeather = rng.normal(0, 4);
    this.stateOfCharge = rng.uniform(0.35, 0.95);
    // Devices have been in the field a while: counters start well above zero.
    this.energyWh = rng.uniform(500, 50_000);
    this.firmwareIndex = rng.int(0, FIRMWARE_VERSIONS.length - 2);
  }

  next(tsMs: number): Reading {
    const { climate, battery, load } = this.profile;
    const rng = this.rng;
    const dtHours = this.lastTsMs === undefined ? 0 : Math.max(0, tsMs - this.lastTsMs) / HOUR_MS;
    this.lastTsMs = tsMs;
    const localHour = (((tsMs / HOUR_MS + this.profile.utcOffsetHours) % DAY_HOURS) + DAY_HOURS) % DAY_HOURS;

    this.tempWeather = weatherStep(this.tempWeather, dtHours, 6, 1.5, rng);
    this.humidityWeather = weatherStep(this.humidityWeather, dtHours, 4, 4, rng);
    const daily = Math.cos((2 * Math.PI * hoursFrom(localHour, climate.warmestHour)) / DAY_HOURS);
    const temperatureC =
      climate.meanTempC + climate.dailySwingC * daily + this.tempWeather + rng.normal(0, 0.05);
    const humidityPct = Math.min(
      99.5,
      Math.max(
        1,
        climate.meanHumidityPct -
          climate.humidityPctPerDegree * (temperatureC - climate.meanTempC) +
          this.humidityWeather +
          rng.normal(0, 0.3),
      ),
    );

    const bump = Math.exp(-(hoursFrom(localHour, load.peakHour) ** 2) / (2 * load.peakWidthHours ** 2));
    const powerW = Math.max(0.1 * load.baseW, (load.baseW + load.peakW * bump) * (1 + rng.normal(0, 0.05)));
    const meanPowerW = load.baseW + load.peakW * 0.25;

    let rebooted = false;
    const rebootProbability = 1 - Math.exp(-dtHours / this.profile.meanHoursBetweenReboots);
    if (this.energyWh >= MIN_ENERGY_BEFORE_REBOOT_WH && rng.chance(rebootProbability)) {
      rebooted = true;
      this.energyWh = 0;
      if (this.firmwareIndex < FIRMWARE_VERSIONS.length - 1 && rng.chance(0.3)) this.firmwareIndex += 1;
    }
    // The register keeps full precision; only the reported value is rounded, so rounding never loses energy.
    this.energyWh += powerW * dtHours;

    if (this.charging) {
      this.stateOfCharge = Math.min(1, this.stateOfCharge + battery.chargePerHour * dtHours);
      if (this.stateOfCharge >= battery.chargeUntil) this.charging = false;
    } else {
      this.stateOfCharge = Math.max(
        0,
        this.stateOfCharge - battery.drainPerHour * (powerW / meanPowerW) * dtHours,
      );
      if (this.stateOfCharge <= battery.chargeBelow) this.charging = true;
    }
    // A Li-ion cell's voltage is flat mid-range and falls fast when nearly empty; charging lifts it a little.
    const curve = 0.12 + 0.88 * this.stateOfCharge ** 0.7;
    const batteryV =
      battery.emptyV +
      (battery.fullV - battery.emptyV) * curve +
      (this.charging ? 0.04 : 0) +
      rng.normal(0, 0.004);

    const reading: Reading = {
      deviceId: this.profile.deviceId,
      deviceIndex: this.profile.index,
      seq: this.seq,
      tsMs,
      firmware: FIRMWARE_VERSIONS[this.firmwareIndex] as string,
      metrics: {
        temperatureC: quantize(temperatureC, 2),
        humidityPct: quantize(humidityPct, 1),
        batteryV: quantize(batteryV, 3),
        energyWh: quantize(this.energyWh, 3),
      },
      rebooted,
    };
    this.seq += 1;
    return reading;
  }
}
