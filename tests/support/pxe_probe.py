#!/usr/bin/env python
"""Act like a Raspberry Pi 4 network bootloader to test a PXE boot server.

Scapy encodes and decodes the packets (its DHCP and TFTP layers); this file keeps what is
the Pi's own (how its bootloader's DHCPDISCOVER looks, the PXE boot menu of option 43 it
looks for) and the few lines of each exchange. It runs inside a probe container, with
scapy on PYTHONPATH (molecule/netboot mounts the test venv's copy, pure Python).

dhcp --mac MAC [--interface IFACE] [--timeout SECONDS] [--guid HEX]
    Broadcast a DHCPDISCOVER from UDP port 68 as a Pi 4 bootloader does (option 60
    "PXEClient:Arch:00000:UNDI:002001", 93 architecture 0, 94 UNDI 2.1, 97 a client GUID,
    55 asking for 43/60/66/67, the broadcast flag). Print the first DHCPOFFER for this MAC
    and transaction as JSON, {"offer": {...}}, option 43 decoded (the boot menu's text, such
    as "Raspberry Pi Boot"). Exit 0 on an offer; 1, printing {"offer": null}, on none.

tftp-get --server IP PATH... [--output FILE] [--blksize N] [--timeout S]
    Read each PATH (octet mode, asking for "tsize" and, when given, "blksize"). Print one
    JSON document, {"files": [...]}, with each file's size, sha256 and the tsize the server
    announced, or the server's ERROR code and message. Exit 0 when every file arrived.
    --output writes the (one) file there.

tftp-put --server IP PATH [--timeout S]
    Send a write request for PATH. Exit 0 when the server refuses it with an ERROR (the
    JSON holds its code and message); 1 when it accepts (the probe then aborts with an
    ERROR, so nothing is written); 2 when it does not answer.

dhcp binds UDP port 68 and, with --interface, uses SO_BINDTODEVICE: run it as root, with
no DHCP client on the same machine.
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

from scapy.layers.dhcp import BOOTP, DHCP, DHCPRevOptions
from scapy.layers.tftp import (TFTP, TFTP_ACK, TFTP_DATA, TFTP_ERROR, TFTP_Error_Codes, TFTP_OACK,
                               TFTP_Option, TFTP_Options, TFTP_RRQ, TFTP_WRQ)

# How the Pi 4 bootloader announces itself: an x86 BIOS PXE client (architecture 0).
PI_VENDOR_CLASS = b"PXEClient:Arch:00000:UNDI:002001"
# Subnet mask, router, DNS, host name, domain name, broadcast address, vendor specific
# (43), vendor class (60), TFTP server (66), boot file (67), client GUID (97), PXE 128-135.
PI_PARAMETERS = [1, 3, 6, 12, 15, 28, 43, 60, 66, 67, 97] + list(range(128, 136))
BROADCAST_FLAG = 0x8000
MESSAGE_TYPES = {1: "DHCPDISCOVER", 2: "DHCPOFFER", 3: "DHCPREQUEST", 5: "DHCPACK", 6: "DHCPNAK"}
# The offer's options by scapy's name, as the JSON names them.
OFFER_OPTIONS = {"server_id": "server_id", "vendor_class_id": "vendor_class", "tftp_server_name": "tftp_server",
                 "boot-file-name": "bootfile", "subnet_mask": "subnet_mask", "hostname": "host_name",
                 "router": "routers", "name_server": "dns_servers"}
# The PXE sub-options of option 43 (PXE specification 2.1, table 2-1) the Pi reads.
PXE_DISCOVERY_CONTROL, PXE_BOOT_MENU, PXE_MENU_PROMPT = 6, 9, 10


def parse_mac(text):
    """The 6 bytes of a MAC written aa:bb:cc:dd:ee:ff (or with -)."""
    parts = text.replace("-", ":").split(":")
    try:
        if len(parts) == 6:
            return bytes(int(part, 16) for part in parts)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError("not a MAC address (six octets): %r" % text)


def pi_discover(mac, xid, guid):
    """A DHCPDISCOVER shaped like the Pi 4 bootloader's."""
    return bytes(BOOTP(op=1, chaddr=mac + bytes(10), xid=xid, flags=BROADCAST_FLAG) / DHCP(options=[
        ("message-type", "discover"), ("max_dhcp_size", 1472),
        ("pxe_client_architecture", struct.pack("!H", 0)), ("pxe_client_network_interface", bytes([1, 2, 1])),
        ("pxe_client_machine_identifier", bytes([0]) + guid), ("vendor_class_id", PI_VENDOR_CLASS),
        ("param_req_list", PI_PARAMETERS), "end"]))


def tlv(data):
    """(code, value) of each entry of option 43's type-length-value area."""
    index = 0
    while index + 1 < len(data) and data[index] != 255:
        if data[index] == 0:  # pad
            index += 1
            continue
        length = data[index + 1]
        yield data[index], data[index + 2:index + 2 + length]
        index += 2 + length


def text(value):
    return value.rstrip(b"\x00").decode("utf-8", "replace") if isinstance(value, bytes) else value


def pxe_menu(data):
    """What the Pi reads of option 43: the discovery control, boot menu and prompt."""
    decoded = {"discovery_control": None, "boot_menu": [], "menu_prompt": None, "codes": []}
    for code, value in tlv(data):
        decoded["codes"].append(code)
        if code == PXE_DISCOVERY_CONTROL and len(value) == 1:
            decoded["discovery_control"] = value[0]
        elif code == PXE_BOOT_MENU:
            # Repeated (type u16, length u8, description).
            index = 0
            while index + 3 <= len(value):
                _type, length = struct.unpack("!HB", value[index:index + 3])
                decoded["boot_menu"].append(text(value[index + 3:index + 3 + length]))
                index += 3 + length
        elif code == PXE_MENU_PROMPT and value:
            decoded["menu_prompt"] = text(value[1:])
    return decoded


def offer(packet, xid, mac):
    """The reply as a dict, when it is a DHCPOFFER of this transaction for this MAC."""
    reply = BOOTP(packet)
    if reply.op != 2 or reply.xid != xid or reply.chaddr[:6] != mac or DHCP not in reply:
        return None
    options = dict((item[0], item[1:]) for item in reply[DHCP].options if isinstance(item, tuple))
    if options.get("message-type") != (2,):
        return None
    decoded = dict((name, None) for name in OFFER_OPTIONS.values())
    for name, values in options.items():
        if name in OFFER_OPTIONS:
            listed = OFFER_OPTIONS[name] in ("routers", "dns_servers")
            decoded[OFFER_OPTIONS[name]] = [text(v) for v in values] if listed else text(values[0])
    decoded.update(pxe_menu(options.get("vendor_specific", (b"",))[0]))
    guid = options.get("pxe_client_machine_identifier")
    decoded["client_guid"] = guid[0].hex() if guid else None
    decoded.update(message_type=MESSAGE_TYPES[2], yiaddr=reply.yiaddr, siaddr=reply.siaddr,
                   broadcast_flag=bool(int(reply.flags) & BROADCAST_FLAG), sname=text(reply.sname),
                   file=text(reply.file), options=sorted(DHCPRevOptions[name][0] for name in options
                                                         if name in DHCPRevOptions))
    return decoded


def dhcp_socket(interface):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    if interface:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode() + b"\x00")
    sock.bind(("", 68))
    return sock


def command_dhcp(args):
    guid = bytes.fromhex(args.guid) if args.guid else b"RPi4" + bytes(6) + args.mac
    if len(guid) != 16:
        raise SystemExit("--guid must be 16 bytes (32 hex digits)")
    xid = random.getrandbits(32)
    result = {"mac": ":".join("%02x" % octet for octet in args.mac), "xid": "0x%08x" % xid, "offer": None,
              "ignored": 0}
    with dhcp_socket(args.interface) as sock:
        sock.sendto(pi_discover(args.mac, xid, guid), (args.broadcast, 67))
        deadline = time.monotonic() + args.timeout
        while result["offer"] is None and time.monotonic() < deadline:
            sock.settimeout(deadline - time.monotonic())
            try:
                packet, source = sock.recvfrom(4096)
            except socket.timeout:
                break
            result["offer"] = offer(packet, xid, args.mac)
            if result["offer"] is None:
                result["ignored"] += 1  # someone else's traffic
            else:
                result["offer"]["source"] = "%s:%d" % source
    emit(result)
    return 0 if result["offer"] else 1


class TftpError(Exception):
    """A failed transfer: the server's ERROR packet, or no answer (code None)."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.as_dict = {"code": code, "name": TFTP_Error_Codes.get(code), "message": message}


class TftpSession:
    """One transfer: the request goes to port 69, the rest to the port the server answers
    from (its transfer ID); the last packet is sent again after each timeout."""

    def __init__(self, server, timeout, retries, port=69):
        self.server, self.peer, self.timeout, self.retries = (server, port), None, timeout, retries
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("", 0))
        self.last = None

    def close(self):
        self.sock.close()

    def send(self, packet):
        self.last = bytes(TFTP() / packet)
        self.sock.sendto(self.last, self.peer or self.server)

    def receive(self):
        """The server's next packet, dissected; TftpError after the last retry."""
        for _attempt in range(self.retries + 1):
            self.sock.settimeout(self.timeout)
            try:
                while True:
                    packet, source = self.sock.recvfrom(65536)
                    if source[0] != self.server[0]:
                        continue
                    self.peer = self.peer or source
                    if source == self.peer:
                        return TFTP(packet)
                    # RFC 1350: answer a stranger with an error, carry on with the transfer.
                    self.sock.sendto(bytes(TFTP() / TFTP_ERROR(errorcode=5, errormsg=b"Unknown transfer ID")), source)
            except socket.timeout:
                self.sock.sendto(self.last, self.peer or self.server)
        raise TftpError(None, "no answer from %s after %d tries" % (self.server[0], self.retries + 1))


def tftp_get(session, path, blksize, sink):
    """Read PATH: its size, sha256 and what the server announced. Raises TftpError."""
    asked = [TFTP_Option(oname=b"tsize", value=b"0")]
    if blksize:
        asked.append(TFTP_Option(oname=b"blksize", value=str(blksize).encode()))
    session.send(TFTP_RRQ(filename=path.encode(), mode=b"octet") / TFTP_Options(options=asked))
    digest, size, block_size, negotiated, expected = hashlib.sha256(), 0, 512, {}, 1
    while True:
        packet = session.receive()
        if TFTP_ERROR in packet:
            raise TftpError(packet.errorcode, text(packet.errormsg))
        if TFTP_OACK in packet and expected == 1:
            negotiated = dict((o.oname.decode().lower(), o.value.decode()) for o in packet[TFTP_Options].options)
            block_size = int(negotiated.get("blksize", 512))
            session.send(TFTP_ACK(block=0))
            continue
        if TFTP_DATA not in packet:
            session.send(TFTP_ERROR(errorcode=4, errormsg=b"unexpected packet"))
            raise TftpError(4, "unexpected TFTP packet %s" % packet.summary())
        if packet.block != expected % 65536:  # a repeat: our ACK got lost
            session.send(TFTP_ACK(block=packet.block))
            continue
        data = bytes(packet[TFTP_DATA].payload)
        digest.update(data)
        if sink:
            sink.write(data)
        size += len(data)
        session.send(TFTP_ACK(block=expected % 65536))
        expected += 1
        if len(data) < block_size:
            tsize = negotiated.get("tsize")
            return {"size": size, "sha256": digest.hexdigest(), "blksize": block_size, "blocks": expected - 1,
                    "tsize": int(tsize) if tsize is not None else None, "oack": negotiated or None}


def command_tftp_get(args):
    if args.output and len(args.paths) != 1:
        raise SystemExit("--output takes one PATH")
    files = []
    for path in args.paths:
        session = TftpSession(args.server, args.timeout, args.retries, args.port)
        sink = open(args.output, "wb") if args.output else None
        try:
            files.append(dict(tftp_get(session, path, args.blksize, sink), path=path))
        except TftpError as error:
            files.append({"path": path, "error": error.as_dict})
            if sink:
                sink.close()
                os.unlink(args.output)
                sink = None
        finally:
            session.close()
            if sink:
                sink.close()
    emit({"server": args.server, "files": files})
    return 0 if all("error" not in item for item in files) else 1


def command_tftp_put(args):
    session = TftpSession(args.server, args.timeout, args.retries, args.port)
    result = {"server": args.server, "path": args.path}
    try:
        session.send(TFTP_WRQ(filename=args.path.encode(), mode=b"octet"))
        answer = session.receive()
        if TFTP_ERROR not in answer:
            # The server would take the file: abort before sending any data.
            session.send(TFTP_ERROR(errorcode=0, errormsg=b"pxe_probe: write test, abort"))
    except TftpError as error:
        result.update(refused=None, error=error.as_dict)
        emit(result)
        return 2
    finally:
        session.close()
    if TFTP_ERROR in answer:
        result.update(refused=True, error=TftpError(answer.errorcode, text(answer.errormsg)).as_dict)
    else:
        result.update(refused=False, error=None, answer=answer.summary())
    emit(result)
    return 0 if result["refused"] else 1


def emit(document):
    json.dump(document, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    sys.stdout.flush()


def build_parser():
    parser = argparse.ArgumentParser(description="Probe a Raspberry Pi 4 network-boot server (proxy DHCP/PXE "
                                                 "and TFTP), as a Pi 4 bootloader would.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    dhcp = commands.add_parser("dhcp", help="send a Pi 4 PXE DHCPDISCOVER")
    dhcp.add_argument("--mac", required=True, type=parse_mac, help="client MAC address, e.g. dc:a6:32:01:02:03")
    dhcp.add_argument("--interface", help="send and receive on this interface only")
    dhcp.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for an offer (default 5)")
    dhcp.add_argument("--guid", help="client GUID for option 97, 32 hex digits")
    dhcp.add_argument("--broadcast", default="255.255.255.255", help="destination (default 255.255.255.255)")
    dhcp.set_defaults(handler=command_dhcp)
    transfers = (("tftp-get", command_tftp_get, "+", "read files"),
                 ("tftp-put", command_tftp_put, None, "try a write (refusal expected)"))
    for name, handler, paths, help_text in transfers:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--server", required=True, help="TFTP server IPv4 address")
        sub.add_argument("--port", type=int, default=69, help="its port (default 69)")
        sub.add_argument("paths" if paths else "path", nargs=paths, help="file name(s) as the client asks")
        sub.add_argument("--timeout", type=float, default=3.0, help="seconds before a resend (default 3)")
        sub.add_argument("--retries", type=int, default=4, help="resends before giving up (default 4)")
        sub.set_defaults(handler=handler)
    get = commands.choices["tftp-get"]
    get.add_argument("--output", help="also write the file here")
    get.add_argument("--blksize", type=int, help="ask for this block size (RFC 2348; the Pi asks for 1468)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
