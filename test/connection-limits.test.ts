/**
 * What the relay and `shelf serve` count connections under (connection-limits.ts). Their effect on
 * real sockets is tested with the relay (test/relay.test.ts) and `shelf serve` (test/serve.test.ts).
 */
import { describe, expect, it } from "vitest";
import { addressKey } from "../src/protocol/connection-limits.js";

describe("addressKey", () => {
  it.each([
    ["127.0.0.1", "127.0.0.1"],
    ["::ffff:192.0.2.7", "192.0.2.7"],
    ["::FFFF:192.0.2.7", "192.0.2.7"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002::9", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["64:ff9b::192.0.2.1", "64:ff9b:0:0::/64"],
    [undefined, ""],
  ])("counts %s under %s", (address, key) => {
    expect(addressKey(address)).toBe(key);
  });

  it("tells apart IPv6 clients in different /64s, and keeps what it cannot parse as it is", () => {
    expect(addressKey("2001:db8:1:3::1")).not.toBe(addressKey("2001:db8:1:2::1"));
    expect(addressKey("not:an::address::")).toBe("not:an::address::");
  });
});
