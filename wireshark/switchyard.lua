-- Wireshark dissector for Switchyard protocol v1 (docs/protocol.md), the fabric's TCP protocol.
-- Each message: u32 length (bytes after it), u16 version, u16 type, u32 endpoint id, u32 flags,
-- then the payload: JSON for control messages, an Ethernet frame for PACKET_OUT and PACKET_IN
-- (handed to Wireshark's Ethernet dissector). Messages split across TCP segments are
-- reassembled (dissect_tcp_pdus). The TCP port (default 9999) is a protocol preference.
--
-- Install: scripts/install-wireshark.sh, or run with tshark -X lua_script:wireshark/switchyard.lua

local switchyard = Proto("switchyard", "Switchyard fabric protocol v1")

local header_length = 16          -- the length field and the 12 bytes it counts first
local maximum_length = 16777216   -- a larger length breaks framing (protocol-v1-facts.md)

local message_types = {
    [1] = "HELLO", [2] = "WELCOME",
    [10] = "ENDPOINT_CREATE", [11] = "ENDPOINT_CREATED", [12] = "ENDPOINT_LOOKUP", [13] = "ENDPOINT_INFO",
    [20] = "SUBSCRIBE", [21] = "SUBSCRIBED",
    [30] = "PACKET_OUT", [31] = "PACKET_IN",
    [40] = "STATS_REQUEST", [41] = "STATS",
    [50] = "RULES_REQUEST", [51] = "RULES",
    [100] = "ERROR",
}
local frame_types = { [30] = true, [31] = true }

local fields = {
    length = ProtoField.uint32("switchyard.length", "Length", base.DEC, nil, nil, "Bytes after the length field"),
    version = ProtoField.uint16("switchyard.version", "Version", base.DEC),
    type = ProtoField.uint16("switchyard.type", "Type", base.DEC, message_types),
    endpoint = ProtoField.uint32("switchyard.endpoint_id", "Endpoint id", base.DEC),
    flags = ProtoField.uint32("switchyard.flags", "Flags", base.HEX),
    promisc = ProtoField.bool("switchyard.flags.promisc", "PROMISC", 32, nil, 0x00000001),
    json = ProtoField.string("switchyard.json", "JSON"),
    payload = ProtoField.bytes("switchyard.payload", "Payload"),
}
switchyard.fields = fields

local expert_version = ProtoExpert.new("switchyard.version.unknown", "Not protocol version 1", expert.group.PROTOCOL, expert.severity.WARN)
local expert_length = ProtoExpert.new("switchyard.length.bad", "Length outside 12 to 16 MiB: the fabric closes the connection", expert.group.MALFORMED, expert.severity.ERROR)
local expert_type = ProtoExpert.new("switchyard.type.unknown", "Unknown message type", expert.group.PROTOCOL, expert.severity.NOTE)
switchyard.experts = { expert_version, expert_length, expert_type }

switchyard.prefs.port = Pref.uint("TCP port", 9999, "The fabric's TCP port (switchyardd --port)")

local ethernet = Dissector.get("eth_withoutfcs")

-- The whole message's length, from its first four bytes.
local function message_length(tvb, pinfo, offset)
    local length = tvb(offset, 4):uint()
    if length < 12 or length > maximum_length then
        -- Only the header can be shown: framing is broken from here on.
        return math.min(tvb:len() - offset, header_length)
    end
    return length + 4
end

local function dissect_message(tvb, pinfo, tree)
    local length = tvb(0, 4):uint()
    local subtree = tree:add(switchyard, tvb(), "Switchyard v1")
    subtree:add(fields.length, tvb(0, 4))
    if length < 12 or length > maximum_length or tvb:len() < header_length then
        subtree:add_proto_expert_info(expert_length)
        pinfo.cols.info:append("[bad length " .. length .. "] ")
        return tvb:len()
    end
    local version = tvb(4, 2):uint()
    local kind = tvb(6, 2):uint()
    local endpoint = tvb(8, 4):uint()
    local version_item = subtree:add(fields.version, tvb(4, 2))
    if version ~= 1 then
        version_item:add_proto_expert_info(expert_version)
    end
    local type_item = subtree:add(fields.type, tvb(6, 2))
    local name = message_types[kind]
    if name == nil then
        type_item:add_proto_expert_info(expert_type)
        name = "type " .. kind
    end
    subtree:add(fields.endpoint, tvb(8, 4))
    local flags_item = subtree:add(fields.flags, tvb(12, 4))
    flags_item:add(fields.promisc, tvb(12, 4))
    subtree:append_text(", " .. name .. ", endpoint " .. endpoint)
    pinfo.cols.info:append(name .. " endpoint=" .. endpoint .. " ")

    local payload_length = length - 12
    if payload_length > 0 then
        local payload = tvb(header_length, payload_length)
        if frame_types[kind] then
            subtree:add(fields.payload, payload)
            -- The frame is a packet of its own in the tree, with Wireshark's full dissection.
            ethernet:call(payload:tvb(), pinfo, tree)
        else
            subtree:add(fields.json, payload)
        end
    end
    return length + 4
end

function switchyard.dissector(tvb, pinfo, tree)
    pinfo.cols.protocol = "Switchyard"
    pinfo.cols.info:clear()
    dissect_tcp_pdus(tvb, tree, 4, message_length, dissect_message)
    -- Protocols dissected inside (Ethernet, IP) rewrite the columns: say which this is.
    pinfo.cols.protocol:prepend("Switchyard/")
    return tvb:len()
end

local registered_port = nil
local function register_port()
    local tcp = DissectorTable.get("tcp.port")
    if registered_port ~= nil then
        tcp:remove(registered_port, switchyard)
    end
    registered_port = switchyard.prefs.port
    tcp:add(registered_port, switchyard)
end

function switchyard.prefs_changed()
    if registered_port ~= switchyard.prefs.port then
        register_port()
    end
end

register_port()
