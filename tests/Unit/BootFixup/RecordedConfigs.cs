namespace Ferry.Tests.Unit.BootFixup;

/// <summary>Configuration files as real installations write them (Debian 12, Ubuntu 22.04 cloud, RHEL 8, EC2 and Azure-era layouts).</summary>
internal static class RecordedConfigs
{
    public const string RootUuid = "0b9c2f1e-6d2a-4c7e-9a0e-2f3d4b5c6a7e";
    public const string SwapUuid = "5f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    public const string BootUuid = "3c1e6f2a-8b7d-4e9f-a1b2-c3d4e5f6a7b8";

    public const string DebianFstab = """
        # /etc/fstab: static file system information.
        #
        # Use 'blkid' to print the universally unique identifier for a
        # device; this may be used with UUID= as a more robust way to name devices
        # that works even if disks are added and removed. See fstab(5).
        #
        # systemd generates mount units based on this file, see systemd.mount(5).
        # Please run 'systemctl daemon-reload' after making changes here.
        #
        # <file system> <mount point>   <type>  <options>       <dump>  <pass>
        # / was on /dev/sda1 during installation
        UUID=0b9c2f1e-6d2a-4c7e-9a0e-2f3d4b5c6a7e /               ext4    errors=remount-ro 0       1
        # swap was on /dev/sda5 during installation
        UUID=5f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d none            swap    sw              0       0
        /dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0

        """;

    public const string UbuntuCloudFstab = "LABEL=cloudimg-rootfs\t/\t ext4\tdiscard,errors=remount-ro\t0 1\nLABEL=UEFI\t/boot/efi\tvfat\tumask=0077\t0 1\n";

    public const string RhelFstab = """

        #
        # /etc/fstab
        # Created by anaconda on Tue Mar  1 10:12:31 2022
        #
        # Accessible filesystems, by reference, are maintained under '/dev/disk/'.
        # See man pages fstab(5), findfs(8), mount(8) and/or blkid(8) for more info.
        #
        /dev/mapper/rhel-root   /                       xfs     defaults        0 0
        UUID=3c1e6f2a-8b7d-4e9f-a1b2-c3d4e5f6a7b8 /boot                   xfs     defaults        0 0
        /dev/mapper/rhel-swap   none                    swap    defaults        0 0

        """;

    public const string Ec2DeviceFstab = """
        /dev/xvda1  /         ext4    defaults,noatime  1   1
        /dev/xvdb   /data     xfs     defaults,nofail   0   2
        tmpfs       /dev/shm  tmpfs   defaults        0   0
        devpts      /dev/pts  devpts  gid=5,mode=620  0   0
        sysfs       /sys      sysfs   defaults        0   0
        proc        /proc     proc    defaults        0   0
        /swapfile   swap      swap    defaults        0   0
        nfs1:/export/home /home nfs defaults 0 0
        //fileserver/share /mnt/share cifs credentials=/root/.smb 0 0

        """;

    public const string NvmeFstab = "/dev/nvme0n1p1 / ext4 defaults 0 1\n/dev/disk/by-uuid/3c1e6f2a-8b7d-4e9f-a1b2-c3d4e5f6a7b8 /boot ext4 defaults 0 2\n";

    public const string DebianGrubCfg = """
        menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os $menuentry_id_option 'gnulinux-simple-0b9c2f1e-6d2a-4c7e-9a0e-2f3d4b5c6a7e' {
        	load_video
        	insmod gzio
        	if [ x$grub_platform = xxen ]; then insmod xzio; insmod lzopio; fi
        	insmod part_msdos
        	insmod ext2
        	set root='hd0,msdos1'
        	if [ x$feature_platform_search_hint = xy ]; then
        	  search --no-floppy --fs-uuid --set=root --hint-bios=hd0,msdos1 --hint-efi=hd0,msdos1 --hint-baremetal=ahci0,msdos1  0b9c2f1e-6d2a-4c7e-9a0e-2f3d4b5c6a7e
        	else
        	  search --no-floppy --fs-uuid --set=root 0b9c2f1e-6d2a-4c7e-9a0e-2f3d4b5c6a7e
        	fi
        	echo	'Loading Linux 6.1.0-18-amd64 ...'
        	linux	/boot/vmlinuz-6.1.0-18-amd64 root=UUID=0b9c2f1e-6d2a-4c7e-9a0e-2f3d4b5c6a7e ro  quiet
        	echo	'Loading initial ramdisk ...'
        	initrd	/boot/initrd.img-6.1.0-18-amd64
        }
        """;

    public const string Ec2DefaultGrub = """
        GRUB_TIMEOUT=1
        GRUB_DEFAULT=saved
        GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8 root=/dev/xvda1 resume=/dev/xvdb2 net.ifnames=0"
        GRUB_DISABLE_RECOVERY="true"
        """;

    public const string RhelBlsEntry = """
        title Red Hat Enterprise Linux (4.18.0-372.9.1.el8.x86_64) 8.6 (Ootpa)
        version 4.18.0-372.9.1.el8.x86_64
        linux /vmlinuz-4.18.0-372.9.1.el8.x86_64
        initrd /initramfs-4.18.0-372.9.1.el8.x86_64.img $tuned_initrd
        options root=/dev/mapper/rhel-root ro crashkernel=auto resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap rhgb quiet
        grub_users $grub_users
        grub_arg --unrestricted
        grub_class rhel
        """;
}
