/**
 * VMware OVA (talos-imager §6.3 + errata E8/E14): a stream-optimized VMDK of the raw disk, an OVF
 * descriptor (2 vCPU, 2048 MB, VirtualSCSI, vmxnet3 on "VM Network", guest `other3xLinux64Guest`,
 * `vmx-15`, the `talos.config` property over the guestInfo transport, `nvram=talos.nvram`,
 * `disk.EnableUUID=true`; `ovf:size` = VMDK file bytes, `ovf:capacity` = disk MiB), and a
 * manifest of `SHA256(<file>)= <hex>` lines; packed as a tar in the order ovf, mf, vmdk with the
 * inner names `disk.*` (v1.5.2 onwards).
 *
 * The VMDK comes from `qemu-img convert -O vmdk -o compat6,subformat=streamOptimized,
 * adapter_type=lsilogic` — the 1.5 imager's command. HEAD imagers use open-vmdk's `vmdk-convert`,
 * which Debian 12 does not package. qemu-img's random descriptor CID is replaced by one derived
 * from the image, so OVAs are reproducible.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { ustarHeader } from '../formats/ustar.js';
import { patchVmdkCid } from '../formats/vmdk-descriptor.js';
import { qemuImgConvert } from '../tools/qemu-img.js';
import { throwIfAborted } from '../tools/run.js';

/** Inner file names. */
export const OVA_NAMES = { ovf: 'disk.ovf', mf: 'disk.mf', vmdk: 'disk.vmdk' } as const;

/** The OVF descriptor text. */
export function renderOvf(vmdkBytes: number, diskBytes: number): string {
  const capacityMiB = Math.floor(diskBytes / (1024 * 1024));
  const item = (fields: Record<string, string>, extra = '', attrs = ''): string[] => [
    `      <Item${attrs}>`,
    ...Object.entries(fields).map(([k, v]) => `        <rasd:${k}>${v}</rasd:${k}>`),
    ...(extra === '' ? [] : [extra]),
    '      </Item>',
  ];
  const config = (key: string, value: string, tag = 'Config'): string =>
    `      <vmw:${tag} ovf:required="false" vmw:key="${key}" vmw:value="${value}"/>`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    '  <References>',
    `    <File ovf:href="${OVA_NAMES.vmdk}" ovf:id="file1" ovf:size="${vmdkBytes}"/>`,
    '  </References>',
    '  <DiskSection>',
    '    <Info>Virtual disk information</Info>',
    `    <Disk ovf:capacity="${capacityMiB}" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>`,
    '  </DiskSection>',
    '  <NetworkSection>',
    '    <Info>The list of logical networks</Info>',
    '    <Network ovf:name="VM Network">',
    '      <Description>The VM Network network</Description>',
    '    </Network>',
    '  </NetworkSection>',
    '  <VirtualSystem ovf:id="vm">',
    '    <Info>A virtual machine</Info>',
    '    <Name>talos</Name>',
    '    <ProductSection ovf:required="false">',
    '      <Info>Talos Virtual Appliance</Info>',
    '      <Property ovf:userConfigurable="true" ovf:type="string" ovf:key="talos.config" ovf:value="">',
    '        <Label>Talos config data</Label>',
    '        <Description>Inline Talos config</Description>',
    '      </Property>',
    '    </ProductSection>',
    '    <OperatingSystemSection ovf:id="101" vmw:osType="other3xLinux64Guest">',
    '      <Info>The kind of installed guest operating system</Info>',
    '    </OperatingSystemSection>',
    '    <VirtualHardwareSection ovf:transport="com.vmware.guestInfo">',
    '      <Info>Virtual hardware requirements</Info>',
    '      <System>',
    '        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>',
    '        <vssd:InstanceID>0</vssd:InstanceID>',
    '        <vssd:VirtualSystemIdentifier>talos</vssd:VirtualSystemIdentifier>',
    '        <vssd:VirtualSystemType>vmx-15</vssd:VirtualSystemType>',
    '      </System>',
    ...item({
      AllocationUnits: 'hertz * 10^6',
      Description: 'Number of Virtual CPUs',
      ElementName: '2 virtual CPU(s)',
      InstanceID: '1',
      ResourceType: '3',
      VirtualQuantity: '2',
    }),
    ...item({
      AllocationUnits: 'byte * 2^20',
      Description: 'Memory Size',
      ElementName: '2048MB of memory',
      InstanceID: '2',
      ResourceType: '4',
      VirtualQuantity: '2048',
    }),
    ...item({
      Address: '0',
      Description: 'SCSI Controller',
      ElementName: 'scsiController0',
      InstanceID: '3',
      ResourceSubType: 'VirtualSCSI',
      ResourceType: '6',
    }),
    ...item({
      AddressOnParent: '0',
      ElementName: 'disk0',
      HostResource: 'ovf:/disk/vmdisk1',
      InstanceID: '4',
      Parent: '3',
      ResourceType: '17',
    }),
    ...item(
      {
        AddressOnParent: '2',
        AutomaticAllocation: 'true',
        Connection: 'VM Network',
        Description: 'VmxNet3 ethernet adapter on &quot;VM Network&quot;',
        ElementName: 'ethernet0',
        InstanceID: '5',
        ResourceSubType: 'VmxNet3',
        ResourceType: '10',
      },
      [
        '  ' + config('slotInfo.pciSlotNumber', '32'),
        '  ' + config('wakeOnLanEnabled', 'false'),
        '  ' + config('connectable.allowGuestControl', 'false'),
      ].join('\n'),
    ),
    ...item(
      { AutomaticAllocation: 'false', ElementName: 'video', InstanceID: '6', ResourceType: '24' },
      '',
      ' ovf:required="false"',
    ),
    ...item(
      {
        AutomaticAllocation: 'false',
        ElementName: 'vmci',
        InstanceID: '7',
        ResourceSubType: 'vmware.vmci',
        ResourceType: '1',
      },
      '',
      ' ovf:required="false"',
    ),
    config('tools.syncTimeWithHost', 'false'),
    config('tools.afterPowerOn', 'true'),
    config('tools.afterResume', 'true'),
    config('tools.beforeGuestShutdown', 'true'),
    config('tools.beforeGuestStandby', 'true'),
    config('tools.toolsUpgradePolicy', 'manual'),
    config('powerOpInfo.suspendType', 'soft'),
    config('nvram', 'talos.nvram', 'ExtraConfig'),
    config('disk.EnableUUID', 'true', 'ExtraConfig'),
    '    </VirtualHardwareSection>',
    '  </VirtualSystem>',
    '</Envelope>',
    '',
  ];
  return lines.join('\n');
}

/** The manifest text (VMDK line first, then the OVF, as upstream). */
export function renderManifest(vmdkSha256: string, ovfSha256: string): string {
  return `SHA256(${OVA_NAMES.vmdk})= ${vmdkSha256}\nSHA256(${OVA_NAMES.ovf})= ${ovfSha256}\n`;
}

/** Options for {@link buildOva}. */
export interface OvaOptions {
  raw: string;
  output: string;
  /** Scratch directory (the VMDK is built there). */
  workDir: string;
  /** Fixed time for the tar headers. */
  mtime: number;
  step: string;
  signal?: AbortSignal;
}

/** Builds the OVA; returns the hashes and sizes that went into the descriptor and manifest. */
export async function buildOva(
  o: OvaOptions,
): Promise<{ vmdkBytes: number; vmdkSha256: string; ovf: string }> {
  const vmdk = path.join(o.workDir, OVA_NAMES.vmdk);
  const diskBytes = (await stat(o.raw)).size;
  await qemuImgConvert({
    input: o.raw,
    output: vmdk,
    format: 'vmdk',
    options: 'compat6,subformat=streamOptimized,adapter_type=lsilogic',
    step: `${o.step}: vmdk`,
    signal: o.signal,
  });
  // A CID derived from the disk size and the VMDK's data, computed with the CID field at zero.
  await patchVmdkCid(vmdk, 0);
  const cid = createHash('sha256')
    .update(`${diskBytes}:`)
    .update(await sha256File(vmdk))
    .digest()
    .readUInt32BE(0);
  await patchVmdkCid(vmdk, cid);
  throwIfAborted(o.signal, o.step);
  const vmdkBytes = (await stat(vmdk)).size;
  const vmdkSha256 = await sha256File(vmdk);
  const ovf = renderOvf(vmdkBytes, diskBytes);
  const ovfBytes = Buffer.from(ovf, 'utf8');
  const mf = Buffer.from(renderManifest(vmdkSha256, sha256(ovfBytes)), 'utf8');

  const tmp = `${o.output}.partial`;
  const out = await open(tmp, 'w');
  try {
    let at = 0;
    const put = async (b: Buffer): Promise<void> => {
      await out.write(b, 0, b.length, at);
      at += b.length;
    };
    const header = (name: string, size: number): Buffer =>
      ustarHeader({ name, type: 'file', mode: 0o644, mtime: o.mtime }, size);
    const pad = (size: number): Buffer => Buffer.alloc((512 - (size % 512)) % 512);
    for (const [name, data] of [
      [OVA_NAMES.ovf, ovfBytes],
      [OVA_NAMES.mf, mf],
    ] as const) {
      await put(header(name, data.length));
      await put(data);
      await put(pad(data.length));
    }
    await put(header(OVA_NAMES.vmdk, vmdkBytes));
    for await (const chunk of createReadStream(vmdk, { highWaterMark: 1024 * 1024 }))
      await put(chunk as Buffer);
    await put(pad(vmdkBytes));
    await put(Buffer.alloc(1024));
  } finally {
    await out.close();
  }
  await rename(tmp, o.output);
  return { vmdkBytes, vmdkSha256, ovf };
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(p, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}
