import moment from 'moment-timezone';

import { tz, utcOffsetMinutes } from './momentTimezone';

const winter = new Date(Date.UTC(2025, 0, 15, 12));
const summer = new Date(Date.UTC(2025, 6, 15, 12));

describe('moment-timezone stand-in', () => {
  it.each(['Europe/Paris', 'America/New_York', 'America/St_Johns', 'Asia/Kolkata', 'Asia/Kathmandu', 'UTC'])(
    'gives the offsets moment-timezone gives for %s',
    (zone) => {
      for (const at of [winter, summer]) {
        expect(utcOffsetMinutes(zone, at)).toBe(moment.tz(at, zone).utcOffset());
      }
    }
  );

  it('handles half-hour and negative offsets', () => {
    expect(utcOffsetMinutes('America/St_Johns', summer)).toBe(-150);
    expect(utcOffsetMinutes('Asia/Kolkata', winter)).toBe(330);
  });

  it('treats Grafana\'s "utc" and unknown zones as UTC', () => {
    expect(utcOffsetMinutes('utc', summer)).toBe(0);
    expect(utcOffsetMinutes('Not/AZone', summer)).toBe(0);
  });

  it('tz(zone).utcOffset() is the offset now', () => {
    expect(tz('Europe/Paris').utcOffset()).toBe(moment.tz('Europe/Paris').utcOffset());
  });
});
