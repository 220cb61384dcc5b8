#!/usr/bin/env python
"""Act like a Raspberry Pi 4 network bootloader to test a PXE boot server.

Standard library only (Python 3.9 or later), so the script can be copied
into a container or onto a node and run there without installing anything.

Sub-commands
------------
dhcp --mac MAC [--interface IFACE] [--timeout SECONDS] [--guid HEX]
    Broadcast a DHCPDISCOVER from UDP port 68, shaped like the one a Pi 4
    bootloader sends: option 60 "PXEClient:Arch:00000:UNDI:002001", option
    93 client architecture 0, option 94 UNDI 2.1, option 97 client GUID,
    option 55 asking for 43/60/66/67, broadcast flag set.  Print the first
    DHCPOFFER for this MAC and transaction as JSON, {"offer": {...}}, with
    option 43 (PXE vendor options) decoded, boot menu text such as
    "Raspberry Pi Boot" included.  Exit 0 when an offer arrived; exit 1,
    printing {"offer": null}, when none came before the timeout.

tftp-get --server IP PATH [--output FILE] [--blksize N] [--timeout S]
    Read PATH with a TFTP read request (octet mode, asking for "tsize" and,
    when given, "blksize"), following OACK / DATA / ACK.  Print the size and
    sha256 of what arrived as JSON and exit 0, or print the server's ERROR
    code and message (or the timeout) and exit 1.

tftp-put --server IP PATH [--timeout S]
    Send a TFTP write request for PATH and report the answer.  Exit 0 when
    the server refuses it with an ERROR packet (the JSON holds the code and
    message), exit 1 when the server accepts it (ACK or OACK; the probe
    then aborts the transfer with an ERROR packet, so nothing is written),
    exit 2 when the server does not answer.

The dhcp sub-command binds UDP port 68 (root or CAP_NET_BIND_SERVICE) and,
with --interface, uses SO_BINDTODEVICE (root or CAP_NET_RAW).  No DHCP
client may hold port 68 on the same machine.
"""

import argparse
import hashlib
import json
import os
import random
import socket
import struct
import sys
import time

# ---------------------------------------------------------------------------
# DHCP
# ---------------------------------------------------------------------------

DHCP_SERVER_PORT = 67
DHCP_CLIENT_PORT = 68
DHCP_MAGIC_COOKIE = b"\x63\x82\x53\x63"
BOOTP_HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")
BOOTREQUEST = 1
BOOTREPLY = 2
BROADCAST_FLAG = 0x8000

# How the Pi 4 bootloader announces itself: an x86 BIOS PXE client (arch 0).
PI_VENDOR_CLASS = "PXEClient:Arch:00000:UNDI:002001"
PI_CLIENT_ARCH = 0
# Options asked for: subnet mask, router, DNS, host name, domain name,
# broadcast address, vendor specific (43), vendor class (60), TFTP server
# (66), boot file (67), client GUID (97) and the PXE-reserved 128-135.
PARAM_REQUEST_LIST = [1, 3, 6, 12, 15, 28, 43, 60, 66, 67, 97,
                      128, 129, 130, 131, 132, 133, 134, 135]

DHCP_MESSAGE_TYPES = {
    1: "DHCPDISCOVER", 2: "DHCPOFFER", 3: "DHCPREQUEST", 4: "DHCPDECLINE",
    5: "DHCPACK", 6: "DHCPNAK", 7: "DHCPRELEASE", 8: "DHCPINFORM",
}

# PXE sub-options carried in option 43 (PXE specification 2.1, table 2-1).
PXE_SUBOPTION_NAMES = {
    1: "PXE_MTFTP_IP", 2: "PXE_MTFTP_CPORT", 3: "PXE_MTFTP_SPORT",
    4: "PXE_MTFTP_TMOUT", 5: "PXE_MTFTP_DELAY", 6: "PXE_DISCOVERY_CONTROL",
    7: "PXE_DISCOVERY_MCAST_ADDR", 8: "PXE_BOOT_SERVERS",
    9: "PXE_BOOT_MENU", 10: "PXE_MENU_PROMPT", 11: "PXE_MCAST_ADDRS_ALLOC",
    12: "PXE_CREDENTIAL_TYPES", 71: "PXE_BOOT_ITEM",
}

# Reply options shown as text, as one IPv4 address, or as a list of them.
TEXT_OPTIONS = {12: "host_name", 15: "domain_name", 60: "vendor_class",
                66: "tftp_server", 67: "bootfile"}
ADDRESS_OPTIONS = {1: "subnet_mask", 28: "broadcast_address",
                   54: "server_id"}
ADDRESS_LIST_OPTIONS = {3: "routers", 6: "dns_servers"}


def parse_mac(text):
    """Return the 6 bytes of a MAC written aa:bb:cc:dd:ee:ff (or with -)."""
    parts = text.replace("-", ":").split(":")
    if len(parts) != 6:
        raise argparse.ArgumentTypeError("MAC needs six octets: %r" % text)
    try:
        return bytes(int(part, 16) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "not a MAC address: %r" % text) from None


def format_mac(octets):
    return ":".join("%02x" % octet for octet in octets)


def default_guid(mac):
    """A stable 16-byte client GUID for MAC.

    The Pi derives its GUID from its own board identity; any fixed 16 bytes
    exercise the server in the same way."""
    return b"RPi4" + bytes(6) + mac


def dhcp_option(code, value):
    if len(value) > 255:
        raise ValueError("DHCP option %d is too long" % code)
    return bytes([code, len(value)]) + value


def build_discover(mac, xid, guid):
    """Build a DHCPDISCOVER like the Pi 4 bootloader's."""
    header = BOOTP_HEADER.pack(
        BOOTREQUEST, 1, 6, 0,         # op, htype Ethernet, hlen, hops
        xid, 0, BROADCAST_FLAG,       # xid, secs, flags
        bytes(4), bytes(4), bytes(4), bytes(4),  # ci-, yi-, si-, giaddr
        mac + bytes(10), bytes(64), bytes(128),  # chaddr, sname, file
    )
    options = b"".join([
        dhcp_option(53, bytes([1])),                      # DHCPDISCOVER
        dhcp_option(57, struct.pack("!H", 1472)),         # max msg size
        dhcp_option(93, struct.pack("!H", PI_CLIENT_ARCH)),
        dhcp_option(94, bytes([1, 2, 1])),                # UNDI 2.1
        dhcp_option(97, bytes([0]) + guid),               # client GUID
        dhcp_option(60, PI_VENDOR_CLASS.encode("ascii")),
        dhcp_option(55, bytes(PARAM_REQUEST_LIST)),
        b"\xff",
    ])
    return header + DHCP_MAGIC_COOKIE + options


def parse_options(data):
    """Split a DHCP (or option 43) TLV area into an ordered {code: bytes}.

    Repeated codes are concatenated, as RFC 3396 asks."""
    options = {}
    index = 0
    while index < len(data):
        code = data[index]
        if code == 0:              # pad
            index += 1
            continue
        if code == 255 or index + 1 >= len(data):   # end
            break
        length = data[index + 1]
        value = data[index + 2:index + 2 + length]
        options[code] = options.get(code, b"") + value
        index += 2 + length
    return options


def decode_text(value):
    return value.rstrip(b"\x00").decode("utf-8", "replace")


def decode_pxe_options(data):
    """Decode the PXE sub-options of option 43 into a list of dicts."""
    decoded = []
    for code, value in parse_options(data).items():
        item = {"code": code,
                "name": PXE_SUBOPTION_NAMES.get(code, "unknown"),
                "hex": value.hex()}
        if code == 6 and len(value) == 1:
            item["value"] = value[0]
        elif code == 8:
            item["servers"] = _decode_boot_servers(value)
        elif code == 9:
            item["menu"] = _decode_boot_menu(value)
        elif code == 10 and value:
            item["timeout"] = value[0]
            item["prompt"] = decode_text(value[1:])
        elif code == 71 and len(value) == 4:
            item["type"], item["layer"] = struct.unpack("!HH", value)
        decoded.append(item)
    return decoded


def _decode_boot_menu(value):
    """PXE_BOOT_MENU: repeated (type u16, length u8, description)."""
    entries = []
    index = 0
    while index + 3 <= len(value):
        boot_type, length = struct.unpack("!HB", value[index:index + 3])
        text = value[index + 3:index + 3 + length]
        entries.append({"type": boot_type, "description": decode_text(text)})
        index += 3 + length
    return entries


def _decode_boot_servers(value):
    """PXE_BOOT_SERVERS: repeated (type u16, count u8, count addresses)."""
    servers = []
    index = 0
    while index + 3 <= len(value):
        boot_type, count = struct.unpack("!HB", value[index:index + 3])
        index += 3
        raw = value[index:index + 4 * count]
        addresses = [socket.inet_ntoa(raw[n:n + 4])
                     for n in range(0, len(raw) - 3, 4)]
        servers.append({"type": boot_type, "addresses": addresses})
        index += 4 * count
    return servers


def parse_reply(packet):
    """Decode a BOOTREPLY into a dict; None when it is not one."""
    if len(packet) < 240 or packet[0] != BOOTREPLY:
        return None
    if packet[236:240] != DHCP_MAGIC_COOKIE:
        return None
    (_op, _htype, hlen, _hops, xid, _secs, flags, ciaddr, yiaddr, siaddr,
     giaddr, chaddr, sname, bootfile) = BOOTP_HEADER.unpack(packet[:236])
    options = parse_options(packet[240:])
    message_type = options.get(53, b"\x00")[0]
    reply = {
        "message_type": DHCP_MESSAGE_TYPES.get(message_type,
                                               str(message_type)),
        "xid": "0x%08x" % xid,
        "chaddr": format_mac(chaddr[:min(hlen, 16)]),
        "broadcast_flag": bool(flags & BROADCAST_FLAG),
        "ciaddr": socket.inet_ntoa(ciaddr),
        "yiaddr": socket.inet_ntoa(yiaddr),
        "siaddr": socket.inet_ntoa(siaddr),
        "next_server": socket.inet_ntoa(siaddr),
        "giaddr": socket.inet_ntoa(giaddr),
        "sname": decode_text(sname),
        "file": decode_text(bootfile),
    }
    for code, name in TEXT_OPTIONS.items():
        reply[name] = decode_text(options[code]) if code in options else None
    for code, name in ADDRESS_OPTIONS.items():
        value = options.get(code)
        reply[name] = (socket.inet_ntoa(value)
                       if value and len(value) == 4 else None)
    for code, name in ADDRESS_LIST_OPTIONS.items():
        value = options.get(code, b"")
        reply[name] = [socket.inet_ntoa(value[i:i + 4])
                       for i in range(0, len(value) - 3, 4)]
    reply["client_guid"] = options[97].hex() if 97 in options else None
    pxe = decode_pxe_options(options[43]) if 43 in options else []
    reply["option_43"] = pxe
    reply["boot_menu"] = [entry["description"] for item in pxe
                          for entry in item.get("menu", [])]
    reply["menu_prompt"] = next(
        (item["prompt"] for item in pxe if "prompt" in item), None)
    reply["options"] = {str(code): value.hex()
                        for code, value in options.items()}
    return reply


def dhcp_socket(interface):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM,
                         socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    if interface:
        bind_to_device = getattr(socket, "SO_BINDTODEVICE", 25)
        sock.setsockopt(socket.SOL_SOCKET, bind_to_device,
                        interface.encode() + b"\x00")
    sock.bind(("", DHCP_CLIENT_PORT))
    return sock


def command_dhcp(args):
    mac = args.mac
    guid = bytes.fromhex(args.guid) if args.guid else default_guid(mac)
    if len(guid) != 16:
        raise SystemExit("--guid must be 16 bytes (32 hex digits)")
    xid = random.getrandbits(32)
    result = {"mac": format_mac(mac), "interface": args.interface,
              "xid": "0x%08x" % xid, "offer": None, "ignored": 0}
    sock = dhcp_socket(args.interface)
    try:
        sock.sendto(build_discover(mac, xid, guid),
                    (args.broadcast, DHCP_SERVER_PORT))
        deadline = time.monotonic() + args.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            try:
                packet, source = sock.recvfrom(4096)
            except socket.timeout:
                break
            reply = parse_reply(packet)
            if (reply is None or reply["xid"] != result["xid"]
                    or reply["chaddr"] != result["mac"]
                    or reply["message_type"] != "DHCPOFFER"):
                result["ignored"] += 1      # someone else's traffic
                continue
            reply["source"] = "%s:%d" % source
            result["offer"] = reply
            break
    finally:
        sock.close()
    emit(result)
    return 0 if result["offer"] else 1


# ---------------------------------------------------------------------------
# TFTP (RFC 1350; options RFC 2347, 2348, 2349)
# ---------------------------------------------------------------------------

TFTP_PORT = 69
OP_RRQ, OP_WRQ, OP_DATA, OP_ACK, OP_ERROR, OP_OACK = 1, 2, 3, 4, 5, 6
TFTP_ERRORS = {
    0: "Not defined", 1: "File not found", 2: "Access violation",
    3: "Disk full or allocation exceeded", 4: "Illegal TFTP operation",
    5: "Unknown transfer ID", 6: "File already exists", 7: "No such user",
    8: "Option negotiation failed",
}


class TftpError(Exception):
    """A failed transfer: the server's ERROR packet, or no answer."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message

    def as_dict(self):
        return {"code": self.code, "name": TFTP_ERRORS.get(self.code),
                "message": self.message}


def tftp_request(opcode, path, options):
    parts = [struct.pack("!H", opcode), path.encode() + b"\x00",
             b"octet\x00"]
    for name, value in options.items():
        parts.append(name.encode() + b"\x00" + str(value).encode() + b"\x00")
    return b"".join(parts)


def tftp_ack(block):
    return struct.pack("!HH", OP_ACK, block)


def tftp_error_packet(code, message):
    return struct.pack("!HH", OP_ERROR, code) + message.encode() + b"\x00"


def parse_tftp(packet):
    """Return (opcode, fields) for a TFTP packet."""
    if len(packet) < 4:
        return None, {}
    opcode = struct.unpack("!H", packet[:2])[0]
    if opcode == OP_DATA:
        return opcode, {"block": struct.unpack("!H", packet[2:4])[0],
                        "data": packet[4:]}
    if opcode == OP_ACK:
        return opcode, {"block": struct.unpack("!H", packet[2:4])[0]}
    if opcode == OP_ERROR:
        code = struct.unpack("!H", packet[2:4])[0]
        text = packet[4:].split(b"\x00", 1)[0]
        return opcode, {"code": code,
                        "message": text.decode("utf-8", "replace")}
    if opcode == OP_OACK:
        fields = packet[2:].split(b"\x00")
        options = {}
        for name, value in zip(fields[0::2], fields[1::2]):
            if name:
                options[name.decode().lower()] = value.decode()
        return opcode, {"options": options}
    return opcode, {}


class TftpSession:
    """One transfer: the request goes to port 69, the rest to the port the
    server answers from (its transfer ID)."""

    def __init__(self, server, timeout, retries):
        self.server = (server, TFTP_PORT)
        self.peer = None
        self.timeout = timeout
        self.retries = retries
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("", 0))
        self.last_sent = None

    def close(self):
        self.sock.close()

    def send(self, packet):
        self.last_sent = packet
        self.sock.sendto(packet, self.peer or self.server)

    def receive(self):
        """Wait for the server's next packet, resending the last packet
        after each timeout; raise TftpError after the last retry."""
        for _attempt in range(self.retries + 1):
            deadline = time.monotonic() + self.timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.sock.settimeout(remaining)
                try:
                    packet, source = self.sock.recvfrom(65536)
                except socket.timeout:
                    break
                if source[0] != self.server[0]:
                    continue
                if self.peer is None:
                    self.peer = source
                elif source != self.peer:
                    # RFC 1350: answer a stranger's packet with an error and
                    # carry on with the transfer.
                    self.sock.sendto(
                        tftp_error_packet(5, "Unknown transfer ID"), source)
                    continue
                return parse_tftp(packet)
            self.sock.sendto(self.last_sent, self.peer or self.server)
        raise TftpError(None, "no answer from %s after %d tries"
                        % (self.server[0], self.retries + 1))


def tftp_get(server, path, blksize=None, timeout=3.0, retries=4, sink=None):
    """Download PATH and return a result dict; raise TftpError on failure.

    The data goes to the binary file object SINK when one is given."""
    options = {"tsize": 0}
    if blksize:
        options["blksize"] = blksize
    session = TftpSession(server, timeout, retries)
    digest = hashlib.sha256()
    size = blocks = 0
    block_size = 512
    negotiated = {}
    expected = 1
    started = time.monotonic()
    try:
        session.send(tftp_request(OP_RRQ, path, options))
        while True:
            opcode, fields = session.receive()
            if opcode == OP_ERROR:
                raise TftpError(fields["code"], fields["message"])
            if opcode == OP_OACK and blocks == 0:
                negotiated = fields["options"]
                block_size = int(negotiated.get("blksize", 512))
                session.send(tftp_ack(0))
                continue
            if opcode != OP_DATA:
                session.send(tftp_error_packet(4, "unexpected packet"))
                raise TftpError(4, "unexpected TFTP opcode %s" % opcode)
            if fields["block"] != expected:
                # A repeat of the previous block: our ACK got lost.
                session.send(tftp_ack(fields["block"]))
                continue
            data = fields["data"]
            digest.update(data)
            if sink is not None:
                sink.write(data)
            size += len(data)
            blocks += 1
            session.send(tftp_ack(expected))
            expected = (expected + 1) % 65536    # block numbers roll over
            if len(data) < block_size:
                break
    finally:
        session.close()
    tsize = negotiated.get("tsize")
    return {"server": server, "path": path, "size": size,
            "sha256": digest.hexdigest(), "blksize": block_size,
            "tsize": int(tsize) if tsize is not None else None,
            "oack": negotiated or None, "blocks": blocks,
            "seconds": round(time.monotonic() - started, 3)}


def command_tftp_get(args):
    sink = open(args.output, "wb") if args.output else None
    try:
        result = tftp_get(args.server, args.path, args.blksize,
                          args.timeout, args.retries, sink)
    except TftpError as error:
        if sink is not None:
            sink.close()
            os.unlink(args.output)
        emit({"server": args.server, "path": args.path,
              "error": error.as_dict()})
        return 1
    if sink is not None:
        sink.close()
        result["output"] = args.output
    emit(result)
    return 0


def command_tftp_put(args):
    session = TftpSession(args.server, args.timeout, args.retries)
    result = {"server": args.server, "path": args.path}
    try:
        session.send(tftp_request(OP_WRQ, args.path, {}))
        try:
            opcode, fields = session.receive()
        except TftpError as error:
            result.update(refused=None, error=error.as_dict())
            emit(result)
            return 2
        if opcode == OP_ERROR:
            result.update(refused=True, error={
                "code": fields["code"],
                "name": TFTP_ERRORS.get(fields["code"]),
                "message": fields["message"]})
            emit(result)
            return 0
        # The server would take the file: abort before sending any data.
        session.send(tftp_error_packet(0, "pxe_probe: write test, abort"))
        answer = {OP_ACK: "ACK", OP_OACK: "OACK"}.get(opcode, str(opcode))
        result.update(refused=False, error=None, answer=answer)
        emit(result)
        return 1
    finally:
        session.close()


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def emit(document):
    json.dump(document, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    sys.stdout.flush()


def build_parser():
    parser = argparse.ArgumentParser(
        description="Probe a Raspberry Pi 4 network-boot server "
                    "(proxy DHCP/PXE and TFTP), as a Pi 4 bootloader would.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    dhcp = commands.add_parser("dhcp", help="send a Pi 4 PXE DHCPDISCOVER")
    dhcp.add_argument("--mac", required=True, type=parse_mac,
                      help="client MAC address, e.g. dc:a6:32:01:02:03")
    dhcp.add_argument("--interface",
                      help="send and receive on this interface only")
    dhcp.add_argument("--timeout", type=float, default=5.0,
                      help="seconds to wait for an offer (default 5)")
    dhcp.add_argument("--guid",
                      help="client GUID for option 97, 32 hex digits")
    dhcp.add_argument("--broadcast", default="255.255.255.255",
                      help="destination address (default 255.255.255.255)")
    dhcp.set_defaults(handler=command_dhcp)

    for name, handler, text in (
            ("tftp-get", command_tftp_get, "read a file"),
            ("tftp-put", command_tftp_put,
             "try a write request (a refusal is the expected answer)")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--server", required=True,
                         help="TFTP server IPv4 address")
        sub.add_argument("path", help="file name as the client asks for it")
        sub.add_argument("--timeout", type=float, default=3.0,
                         help="seconds before a retransmission (default 3)")
        sub.add_argument("--retries", type=int, default=4,
                         help="retransmissions before giving up (default 4)")
        sub.set_defaults(handler=handler)
        if name == "tftp-get":
            sub.add_argument("--output", help="also write the file here")
            sub.add_argument("--blksize", type=int,
                             help="ask for this block size (RFC 2348, "
                                  "8-65464; the Pi asks for 1468)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
